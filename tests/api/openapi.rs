//! The OpenAPI document over real HTTP: it lists exactly the routes the server registered, and
//! each operation describes its answers, its errors and its body.

use std::collections::BTreeSet;

use serde_json::Value;

use super::helpers::{TestApp, spawn_app};

/// The document as a client fetches it, without a token.
async fn document(app: &TestApp) -> Value {
    let response = app
        .http
        .get(format!("{}/api/openapi.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_lists_every_route_the_server_registers() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((
                method.to_ascii_uppercase(),
                belfry::routes::registry::normalise(path),
            ));
        }
    }
    let registered: BTreeSet<_> = belfry::routes::registry::registered().into_iter().collect();
    assert!(
        registered.len() >= 20,
        "the server registered its routes: {registered:?}"
    );
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in the document: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn operations_describe_bodies_answers_and_the_error_shape() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let error = &schemas["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
    let detail = &schemas["ErrorDetail"]["properties"];
    for field in ["code", "message", "details"] {
        assert!(detail.get(field).is_some(), "ErrorDetail has {field}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2') || s == "101"),
                "{method} {path} documents its success"
            );
            // Every documented error answers the one error shape.
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
            if let Some(body) = operation.get("requestBody") {
                let schema = &body["content"]["application/json"]["schema"];
                if let Some(name) = schema["$ref"].as_str() {
                    let name = name.trim_start_matches("#/components/schemas/");
                    assert!(schemas.get(name).is_some(), "{name} is in components");
                }
            }
        }
    }
    // Every route that reads a JSON body says which.
    for (path, method) in [
        ("/api/auth/login", "post"),
        ("/api/members", "post"),
        ("/api/messages", "post"),
        ("/api/chat/rooms", "post"),
        ("/api/admin/breaker", "post"),
        ("/api/admin/dlq/retry", "post"),
        ("/api/admin/dlq/{id}", "delete"),
    ] {
        let schema =
            &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
        assert!(schema["$ref"].is_string(), "{method} {path}: {schema}");
    }
    // The types behind the answers, with their fields as the API writes them.
    let row = &schemas["MessageRow"]["properties"];
    for field in ["id", "status", "deliveredCount", "createdAt"] {
        assert!(row.get(field).is_some(), "MessageRow has {field}: {row}");
    }
    assert!(row.get("churchId").is_none(), "skipped fields stay out");
    assert!(
        schemas["SendRequest"]["properties"]
            .get("allMembers")
            .is_some()
    );
}
