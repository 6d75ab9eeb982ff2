//! The OpenAPI 3.1 documents of the admin and account APIs: served, complete (every route the
//! router holds is described, since both come from one registration), and naming the bearer
//! scheme and the errors. `bench/fuzz` runs schemathesis against them on a live server.

use serde_json::Value;

use crate::support::*;

async fn document(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    r.json().await.unwrap()
}

#[tokio::test]
async fn both_apis_are_described_in_openapi_3_1() {
    let app = TestApp::spawn(Backend::Embedded).await;
    for (path, prefix, least) in [
        ("/admin/v1/openapi.json", "/admin/v1/", 20),
        ("/account/v1/openapi.json", "/account/v1/", 10),
    ] {
        let doc = document(&app, path).await;
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= least, "{path}: {} paths", paths.len());
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        for (route, item) in paths {
            assert!(route.starts_with(prefix), "{route}");
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                for status in ["401", "403", "429", "503"] {
                    assert!(responses.contains_key(status), "{method} {route} lacks {status}");
                }
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {route} has no success answer"
                );
            }
        }
        // Every path the document names is served: an anonymous call is refused as the
        // document says (401), never 404 or 405.
        for (route, item) in paths {
            let concrete = route
                .replace("{id}", "x")
                .replace("{idp_id}", "x")
                .replace("{user_id}", "x")
                .replace("{client_id}", "x")
                .replace("{name}", "x")
                .replace("{permission}", "x")
                .replace("{sid}", "x")
                .replace("{channel}", "email");
            for method in item.as_object().unwrap().keys() {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let r = app
                    .client
                    .request(method.clone(), app.url(&concrete))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 401, "{method} {concrete}");
            }
        }
    }
    let admin = document(&app, "/admin/v1/openapi.json").await;
    let user = &admin["components"]["schemas"]["User"];
    assert_eq!(user["properties"]["id"]["format"], "uuid", "{user}");
    app.stop().await;
}
