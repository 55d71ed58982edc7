//! What a request that matches no route gets: 405 with `Allow` when the path exists under
//! other methods (HTTP semantics; clients and scanners learn what the path takes), otherwise
//! the `not_found` problem. The paths come from the OpenAPI document, whose operations are
//! those of the route table (`api::routes`), plus the one routed asset it leaves out.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;

use crate::error::{Error, Problem};

/// Path templates split into segments (`None` = a `{param}`), with their methods.
type Templates = Vec<(Vec<Option<String>>, Vec<&'static str>)>;

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let spec = super::openapi::ApiDoc::openapi();
        let mut out: Templates = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (segments(path), methods)
            })
            .collect();
        // The script the `/docs` page loads (an asset, not in the document).
        out.push((segments("/docs/redoc.standalone.js"), vec!["GET"]));
        out
    })
}

fn segments(path: &str) -> Vec<Option<String>> {
    path.split('/')
        .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
        .collect()
}

/// The methods routed for `path`, if any route matches it. When both a literal route and a
/// templated one match (`/v1/admin/products/slow-movers` and `/v1/admin/products/{id}`), the
/// most literal one names the resource, as the OpenAPI document does.
fn allowed_methods(path: &str) -> Option<Vec<&'static str>> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut allowed: Vec<&'static str> = Vec::new();
    let mut best = 0;
    for (template, methods) in templates() {
        let matches = template.len() == parts.len()
            && template.iter().zip(&parts).all(|(t, p)| match t {
                Some(fixed) => fixed == p,
                None => !p.is_empty(),
            });
        if !matches {
            continue;
        }
        let literal = template.iter().filter(|t| t.is_some()).count();
        if literal > best {
            best = literal;
            allowed.clear();
        }
        if literal == best {
            for m in methods {
                if !allowed.contains(m) {
                    allowed.push(m);
                }
            }
        }
    }
    (!allowed.is_empty()).then_some(allowed)
}

/// The default service: 405 for a known path, 404 otherwise.
pub async fn not_routed(req: HttpRequest) -> HttpResponse {
    let method = req.method().as_str();
    let Some(methods) = allowed_methods(req.path()).filter(|m| !m.contains(&method)) else {
        // Unknown path, or a documented operation that is not routed (which
        // `tests/api/isolation.rs` looks for): no route.
        return Error::NotFound("route").error_response();
    };
    let allow = methods.join(", ");
    let problem = Problem {
        type_: "https://kameng.dev/problems/method_not_allowed".into(),
        title: "Method not allowed".into(),
        status: 405,
        detail: format!("this path takes {allow}"),
        code: "method_not_allowed".into(),
        errors: Vec::new(),
    };
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::CONTENT_TYPE, "application/problem+json"))
        .body(serde_json::to_string(&problem).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::allowed_methods;

    #[test]
    fn known_paths_list_their_methods() {
        assert_eq!(allowed_methods("/v1/orders"), Some(vec!["GET", "POST"]));
        assert_eq!(allowed_methods("/v1/orders/ord_1"), Some(vec!["GET"]));
        assert_eq!(allowed_methods("/v1/orders/"), None);
        assert_eq!(allowed_methods("/v1/nothing"), None);
    }
}
