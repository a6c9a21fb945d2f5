//! Every route the server answers, as it is built.
//!
//! Routes are declared with [`endpoint!`], which is warp's `path!` plus a method filter, and
//! which also records the method and path template here when the filter is made. The OpenAPI
//! document is checked against this record (a test), so a route cannot be added without
//! being documented: the record comes from the same macro call that makes the route match.

use std::collections::BTreeSet;
use std::sync::Mutex;

use warp::http::Method;

/// A route as the server registered it: `("GET", "/api/messages/{}")`. Path parameters are
/// `{}` whatever their name, so templates compare with OpenAPI's `{id}`.
pub type Registered = (String, String);

/// Kept with each parameter's type (`/api/messages/{i64}`), so that `Allow` names only the
/// routes a path really reaches: `/api/admin/dlq/retry` is not `/api/admin/dlq/{i64}`.
static ROUTES: Mutex<BTreeSet<Registered>> = Mutex::new(BTreeSet::new());

/// `segments` as `stringify!` gives them: a quoted literal, or the type of a parameter.
pub fn record(method: Method, segments: &[&str]) {
    let mut template = String::new();
    for segment in segments {
        template.push('/');
        match segment.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(literal) => template.push_str(literal),
            None => {
                template.push('{');
                template.push_str(segment);
                template.push('}');
            }
        }
    }
    if template.is_empty() {
        template.push('/');
    }
    ROUTES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert((method.to_string(), template));
}

/// Every route registered in this process so far, parameters as `{}`.
pub fn registered() -> Vec<Registered> {
    typed()
        .into_iter()
        .map(|(method, template)| (method, normalise(&template)))
        .collect()
}

fn typed() -> Vec<Registered> {
    ROUTES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .cloned()
        .collect()
}

/// Whether a path segment is what a parameter of this type accepts.
fn accepts(parameter: &str, segment: &str) -> bool {
    match parameter {
        "i64" => segment.parse::<i64>().is_ok(),
        "i32" => segment.parse::<i32>().is_ok(),
        "u64" => segment.parse::<u64>().is_ok(),
        _ => !segment.is_empty(),
    }
}

/// The methods registered for a concrete path (`/api/members/7`), for a `405`'s `Allow`.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let matches = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len()
            && parts.iter().zip(&segments).all(|(part, segment)| {
                match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(parameter) => accepts(parameter, segment),
                    None => part == segment,
                }
            })
    };
    let mut methods: Vec<String> = typed()
        .into_iter()
        .filter(|(_, template)| matches(template))
        .map(|(method, _)| method)
        .collect();
    methods.dedup();
    methods
}

/// The routes registered so far, split once, to name the route a request reached.
pub struct Templates(Vec<(String, Vec<String>, String)>);

/// What [`Templates::route_of`] answers for a path no route has.
pub const UNMATCHED: &str = "unmatched";

impl Templates {
    /// The routes as registered now (call it once every route is built).
    pub fn now() -> Self {
        Self(
            typed()
                .into_iter()
                .map(|(method, template)| {
                    let parts: Vec<String> = template.split('/').map(str::to_owned).collect();
                    let name = parts
                        .iter()
                        .map(|part| {
                            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                                Some("i64" | "i32" | "u64") => ":id",
                                Some(_) => ":name",
                                None => part,
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("/");
                    (method, parts, name)
                })
                .collect(),
        )
    }

    /// The template of the route `method path` reaches, parameters written `:id` (numbers) or
    /// `:name` (`/api/messages/:id`), or [`UNMATCHED`]; a path whose method is not registered
    /// still names its route. (Not `{id}`: braces inside label values trip simple parsers.)
    pub fn route_of(&self, method: &str, path: &str) -> &str {
        let segments: Vec<&str> = path.split('/').collect();
        let mut found = None;
        for (registered, parts, name) in &self.0 {
            if parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(part, segment)| {
                    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(parameter) => accepts(parameter, segment),
                        None => part == segment,
                    }
                })
            {
                if registered == method {
                    return name;
                }
                found.get_or_insert(name.as_str());
            }
        }
        found.unwrap_or(UNMATCHED)
    }
}

/// Adds `Allow` to a `405`: the methods the path does answer (RFC 9110 §15.5.6).
pub fn with_allow(path: &str, mut response: warp::reply::Response) -> warp::reply::Response {
    if response.status() == warp::http::StatusCode::METHOD_NOT_ALLOWED {
        let allow = allowed_methods(path).join(", ");
        if let Ok(value) = warp::http::HeaderValue::from_str(&allow) {
            response
                .headers_mut()
                .insert(warp::http::header::ALLOW, value);
        }
    }
    response
}

/// `/api/messages/{id}` → `/api/messages/{}`.
pub fn normalise(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `endpoint!(GET, "api" / "messages" / i64)`: matches the path and the method, and records
/// the route (see the module's doc). `endpoint!(GET, /)` is the root.
macro_rules! endpoint {
    ($method:ident, /) => {{
        $crate::http::registry::record(::warp::http::Method::$method, &[]);
        ::warp::path::end().and($crate::http::registry::endpoint!(@method $method))
    }};
    ($method:ident, $($segment:tt)/+) => {{
        $crate::http::registry::record(
            ::warp::http::Method::$method,
            &[$(stringify!($segment)),+],
        );
        ::warp::path!($($segment)/+).and($crate::http::registry::endpoint!(@method $method))
    }};
    (@method GET) => { ::warp::get() };
    (@method POST) => { ::warp::post() };
    (@method PUT) => { ::warp::put() };
    (@method PATCH) => { ::warp::patch() };
    (@method DELETE) => { ::warp::delete() };
}
pub(crate) use endpoint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_parameters_alike() {
        record(Method::GET, &["\"api\"", "\"messages\"", "i64"]);
        assert!(registered().contains(&("GET".to_owned(), "/api/messages/{}".to_owned())));
        assert_eq!(normalise("/api/messages/{id}"), "/api/messages/{}");
        assert_eq!(
            normalise("/api/chat/{room}/messages"),
            "/api/chat/{}/messages"
        );
        record(Method::DELETE, &["\"api\"", "\"messages\"", "i64"]);
        let templates = Templates::now();
        assert_eq!(
            templates.route_of("GET", "/api/messages/7"),
            "/api/messages/:id"
        );
        assert_eq!(templates.route_of("GET", "/api/messages/x"), UNMATCHED);
        assert_eq!(templates.route_of("GET", "/nowhere"), UNMATCHED);
        let allowed = allowed_methods("/api/messages/7");
        assert!(allowed.contains(&"GET".to_owned()) && allowed.contains(&"DELETE".to_owned()));
        assert!(allowed_methods("/api/messages/7/x").is_empty());
        assert!(
            allowed_methods("/api/messages/history").is_empty(),
            "a word is not an i64"
        );
    }
}
