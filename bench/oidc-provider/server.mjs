// node oidc-provider configured like the Propusk benchmark: one confidential client with
// client_credentials and introspection. Listens on 127.0.0.1:$PORT (default 3000).
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench',
      client_secret: 'bench-secret-bench-secret-bench-secret-123',
      grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
      redirect_uris: ['https://client.example.com/cb'],
      response_types: ['code'],
      scope: 'openid parcels',
    },
  ],
  scopes: ['openid', 'parcels', 'offline_access'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
  },
});
provider.proxy = false;
const server = provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
