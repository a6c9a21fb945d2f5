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
                belfry::http::registry::normalise(path),
            ));
        }
    }
    let registered: BTreeSet<_> = belfry::http::registry::registered().into_iter().collect();
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
                let json = &response["content"]["application/json"]["schema"];
                if status.starts_with('2') && json.is_object() && path != "/api/openapi.json" {
                    let (fields, _) = object_fields(&doc, json);
                    assert!(
                        !fields.is_empty(),
                        "{method} {path} {status} names its fields"
                    );
                }
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
    let row = &schemas["HistoryPage"]["properties"]["messages"]["items"]["properties"];
    for field in ["id", "status", "deliveredCount", "createdAt"] {
        assert!(row.get(field).is_some(), "MessageRow has {field}: {row}");
    }
    assert!(row.get("churchId").is_none(), "skipped fields stay out");
    // A send names its recipients one of two ways, and the document says so.
    let send = &schemas["SendRequest"]["allOf"];
    assert!(send[0]["properties"].get("allMembers").is_some(), "{send}");
    assert_eq!(send[0]["required"], serde_json::json!(["body"]), "{send}");
    let ways = send[1]["oneOf"].as_array().unwrap();
    assert_eq!(ways.len(), 2, "{send}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inputs_carry_the_limits_the_server_checks() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let member = &schemas["NewMember"]["properties"];
    assert_eq!(member["name"]["minLength"], 1);
    assert_eq!(member["name"]["maxLength"], 200);
    assert_eq!(member["phone"]["pattern"], r"^\+[1-9][0-9]{7,14}$");
    let staff = &schemas["NewStaffUser"]["properties"];
    assert_eq!(staff["role"]["enum"], serde_json::json!(["admin", "staff"]));
    assert_eq!(staff["password"]["minLength"], 8);
    assert_eq!(staff["password"]["maxLength"], 1024);
    assert_eq!(
        schemas["DiscardRequest"]["properties"]["note"]["maxLength"],
        500
    );

    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} has {name}"))["schema"]
            .clone()
    };
    let states = param("/api/admin/dlq", "state");
    assert_eq!(
        states["enum"],
        serde_json::json!(["open", "retried", "discarded", "all"])
    );
    let history = param("/api/messages/history", "status");
    assert!(history["enum"].as_array().unwrap().len() >= 4, "{history}");
    assert_eq!(param("/api/messages/history", "limit")["maximum"], 100);
    assert_eq!(
        param("/api/messages/history", "since")["format"],
        "date-time"
    );
    // `fields=` names exactly the fields of what the route answers.
    let fields = param("/api/members", "fields")["pattern"].clone();
    let fields = fields.as_str().unwrap();
    assert!(
        fields.contains("phone") && fields.contains("createdAt"),
        "{fields}"
    );
    assert!(!fields.contains("body"), "{fields}");
    // Every operation may be rate limited.
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"].get("429").is_some(),
                "{method}: {operation}"
            );
        }
    }
}

/// The schema `schema` (a `$ref` is followed) as the document defines it.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(name) => {
            let name = name.trim_start_matches("#/components/schemas/");
            let found = &doc["components"]["schemas"][name];
            assert!(found.is_object(), "{name} is in components");
            resolve(doc, found)
        }
        None => schema,
    }
}

/// The properties and required names of an object schema, `allOf` parts merged.
fn object_fields<'a>(
    doc: &'a Value,
    schema: &'a Value,
) -> (Vec<(&'a str, &'a Value)>, Vec<&'a str>) {
    let schema = resolve(doc, schema);
    let mut properties = Vec::new();
    let mut required = Vec::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (p, r) = object_fields(doc, part);
        properties.extend(p);
        required.extend(r);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        properties.push((name.as_str(), property));
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        required.push(name.as_str().unwrap());
    }
    (properties, required)
}

/// Asserts that `value` is what `schema` describes: every field documented with its type,
/// every required field present. `at` names the place for the failure message.
fn assert_conforms(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolve(doc, schema);
    if let Some(choices) = schema["oneOf"].as_array() {
        let null_allowed = choices.iter().any(|c| c["type"] == "null");
        if value.is_null() {
            assert!(null_allowed, "{at}: null is not allowed by {schema}");
            return;
        }
        let typed: Vec<_> = choices.iter().filter(|c| c["type"] != "null").collect();
        assert_eq!(
            typed.len(),
            1,
            "{at}: one alternative besides null: {schema}"
        );
        return assert_conforms(doc, typed[0], value, at);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ if schema["allOf"].is_array() => vec!["object"],
        other => panic!("{at}: the schema names no type: {other} in {schema}"),
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
    assert!(allowed, "{at}: {actual} where the schema says {types:?}");
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_conforms(doc, &schema["items"], item, &format!("{at}[{i}]"));
            }
        }
        Value::Object(fields) => {
            if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for (name, field) in fields {
                    assert_conforms(doc, values, field, &format!("{at}.{name}"));
                }
                return;
            }
            let (properties, required) = object_fields(doc, schema);
            assert!(
                !properties.is_empty(),
                "{at}: the schema names no fields: {schema}"
            );
            for name in required {
                assert!(
                    fields.contains_key(name),
                    "{at}: required {name} is missing"
                );
            }
            for (name, field) in fields {
                let Some((_, property)) = properties.iter().find(|(n, _)| n == name) else {
                    panic!("{at}: {name} is not documented");
                };
                assert_conforms(doc, property, field, &format!("{at}.{name}"));
            }
        }
        _ => {}
    }
}

/// The schema of the operation's answer with `status`.
fn answer_schema<'a>(doc: &'a Value, method: &str, path: &str, status: &str) -> &'a Value {
    let schema =
        &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {status} has a JSON schema"
    );
    schema
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_views_answer_what_their_schemas_describe() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let staff = app.login(&app.grace.staff_email).await;
    let admin = app.login(&app.grace.admin_email).await;
    // Usage and a refused login, so the abuse view has entries to describe.
    app.get("/api/presence", &staff).await;
    let wrong = serde_json::json!({"email": app.grace.staff_email, "password": "wrong"});
    app.post_json("/api/auth/login", None, &wrong).await;

    let _socket = app.connect(&staff).await;
    for path in [
        "/api/admin/actors",
        "/api/admin/breaker",
        "/api/admin/limits",
        "/api/admin/rooms",
        "/api/admin/throughput",
    ] {
        let answer = app.get_json(path, &admin).await;
        assert_conforms(&doc, answer_schema(&doc, "get", path, "200"), &answer, path);
    }
    let limits = app.get_json("/api/admin/limits", &admin).await;
    assert!(
        !limits["topConsumers"].as_array().unwrap().is_empty(),
        "the abuse view lists the staff member: {limits}"
    );
    // Operators see more of the same views; their answers keep to the same schemas.
    let operator = app.operator().await;
    for path in [
        "/api/admin/actors",
        "/api/admin/limits",
        "/api/admin/dlq",
        "/api/admin/rooms",
        "/api/admin/churches",
    ] {
        let answer = app.get_json(path, &operator).await;
        assert_conforms(&doc, answer_schema(&doc, "get", path, "200"), &answer, path);
    }
    let forced = app
        .post_json(
            "/api/admin/breaker",
            Some(&operator),
            &serde_json::json!({"state": "forced_open"}),
        )
        .await;
    assert_eq!(forced.status(), 200);
    let forced: Value = forced.json().await.unwrap();
    let schema = answer_schema(&doc, "post", "/api/admin/breaker", "200");
    assert_conforms(&doc, schema, &forced, "POST /api/admin/breaker");
    assert!(
        forced["openedAt"].is_string(),
        "a forced breaker says since when: {forced}"
    );
}
