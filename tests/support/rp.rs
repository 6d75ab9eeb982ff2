//! The `openidconnect` crate as a relying party of the app under test: an HTTP client that does
//! not follow redirects, discovery, and a client for a registered application.

use openidconnect::core::CoreClient;
use openidconnect::{
    ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, ProviderMetadataWithLogout,
    RedirectUrl,
};

use super::TestApp;

/// A relying party built from discovery, with the tests' redirect URI.
pub type Rp =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// An HTTP client for the relying party: redirects are the test's to follow.
pub fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The app's discovery document, read by the crate.
pub async fn discover(app: &TestApp, http: &openidconnect::reqwest::Client) -> ProviderMetadataWithLogout {
    ProviderMetadataWithLogout::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), http)
        .await
        .unwrap()
}

/// A relying party for `client_id` (with its secret), redirecting to
/// `https://client.example.com/cb`.
pub fn rp(metadata: ProviderMetadataWithLogout, client_id: &str, secret: &str) -> Rp {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        Some(ClientSecret::new(secret.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new("https://client.example.com/cb".into()).unwrap())
}
