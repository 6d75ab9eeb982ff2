//! Authentication context classes (`acr`, OpenID Connect Core §2): how strongly the user behind
//! a token was authenticated. `urn:propusk:loa:1`: one factor (a password, or an upstream
//! identity provider); `urn:propusk:loa:2`: a second factor too, or an upstream identity
//! provider trusted for its multi-factor sign-in. An authorization request that accepts only
//! `loa:2` (`acr_values`, or an essential `acr` claim request) steps a password-only session up.

use serde_json::Value;

pub const LOA1: &str = "urn:propusk:loa:1";
pub const LOA2: &str = "urn:propusk:loa:2";

/// The classes discovery advertises.
pub const SUPPORTED: [&str; 2] = [LOA1, LOA2];

/// The class of an authentication with these `amr` values.
pub fn of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") { LOA2 } else { LOA1 }
}

/// Whether a request accepts only `loa:2`: its `acr_values` (space-separated, in order of
/// preference) or its `claims` parameter's `id_token.acr` (`value` or `values`) name `loa:2` and
/// not `loa:1`. Classes this server does not know are ignored (they are requests, not demands,
/// OpenID Connect Core §3.1.2.1).
pub fn requires_second_factor(acr_values: Option<&str>, claims: Option<&Value>) -> bool {
    let mut asked: Vec<&str> = acr_values.map(|v| v.split(' ').collect()).unwrap_or_default();
    if let Some(acr) = claims.and_then(|c| c.get("id_token")).and_then(|t| t.get("acr")) {
        if let Some(v) = acr.get("value").and_then(Value::as_str) {
            asked.push(v);
        }
        if let Some(values) = acr.get("values").and_then(Value::as_array) {
            asked.extend(values.iter().filter_map(Value::as_str));
        }
    }
    asked.contains(&LOA2) && !asked.contains(&LOA1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classes_follow_the_factors_and_requests_that_accept_only_loa2_step_up() {
        assert_eq!(of(&["pwd".into()]), LOA1);
        assert_eq!(of(&["fed".into(), "mfa".into()]), LOA2);
        assert!(requires_second_factor(Some(LOA2), None));
        assert!(
            !requires_second_factor(Some(&format!("{LOA2} {LOA1}")), None),
            "loa:1 accepted too"
        );
        assert!(
            !requires_second_factor(Some("1 2"), None),
            "unknown classes are ignored"
        );
        assert!(!requires_second_factor(None, None));
        let essential = json!({"id_token": {"acr": {"essential": true, "values": [LOA2]}}});
        assert!(requires_second_factor(None, Some(&essential)));
        let single = json!({"id_token": {"acr": {"value": LOA2}}});
        assert!(requires_second_factor(None, Some(&single)));
        let either = json!({"id_token": {"acr": {"values": [LOA1, LOA2]}}});
        assert!(!requires_second_factor(None, Some(&either)));
    }
}
