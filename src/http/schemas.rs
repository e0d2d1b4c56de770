//! JSON Schemas of the API types that are domain data (`Access`,
//! `Policy`), written out here so that the OpenAPI document states their
//! rules (names, enums, ranges, no unknown keys) for integrators who
//! generate clients from it. Rules across fields (idle ≤ absolute, a
//! maximum not below its minimum) and rules that depend on state (a
//! tenant's password policy, a collection's field schema) cannot be said
//! in JSON Schema: those are 422 problems naming the rule.

use serde_json::{json, Value};
use utoipa::openapi::{Ref, RefOr, Schema};

const NAME: &str = "^[a-z][a-z0-9_]{0,62}$";
const COLLECTION_OR_ALL: &str = r"^(\*|[a-z][a-z0-9_]{0,62})$";

/// A `$ref` to a schema registered by [`register`].
pub fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

pub fn access_ref() -> RefOr<Schema> {
    reference("Access")
}

/// An `Access` or `null` (then: no grants, no masks).
pub fn access_or_null() -> RefOr<Schema> {
    let null = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::Null);
    RefOr::T(Schema::OneOf(utoipa::openapi::OneOfBuilder::new().item(access_ref()).item(null).build()))
}

pub fn access() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Need-to-know: operations granted per collection (`*` = every collection) and fields read as \"***\". Used for operators and API keys.",
        "properties": {
            "grants": {
                "type": "object",
                "propertyNames": {"pattern": COLLECTION_OR_ALL},
                "additionalProperties": {"type": "array", "minItems": 1, "items": {"enum": ["read", "write", "erase", "export"]}}
            },
            "masks": {
                "type": "object",
                "propertyNames": {"pattern": COLLECTION_OR_ALL},
                "additionalProperties": {"type": "array", "items": {"type": "string", "pattern": NAME}}
            }
        }
    })
}

fn int(min: u64, max: u64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn section(props: Value) -> Value {
    json!({"type": "object", "additionalProperties": false, "properties": props})
}

/// A security policy; every key may be left out (the recommended value applies).
pub fn policy() -> Value {
    let network = json!({"type": "array", "maxItems": 256, "items": {"type": "string", "maxLength": 43}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "A tenant's security policy; every key is optional and defaults to the recommended policy's value.",
        "properties": {
            "description": {"type": "string", "maxLength": 4000},
            "password": section(json!({
                "min_length": int(6, 1024),
                "max_length": int(64, 1024),
                "require_lower": {"type": "boolean"},
                "require_upper": {"type": "boolean"},
                "require_digit": {"type": "boolean"},
                "require_symbol": {"type": "boolean"},
                "max_age_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650},
                "history": int(0, 24),
                "blocklist": {"type": "boolean"},
                "refuse_username": {"type": "boolean"}
            })),
            "mfa": section(json!({"required": {"enum": ["all", "administrators", "optional"]}})),
            "session": section(json!({"idle_minutes": int(1, 1440), "absolute_hours": int(1, 720)})),
            "lockout": section(json!({
                "max_failures": int(1, 100),
                "wait_increment_seconds": int(0, 86400),
                "max_wait_seconds": int(0, 86400),
                "failure_reset_seconds": int(1, 2_592_000),
                "permanent_after": {"type": ["integer", "null"], "minimum": 0, "maximum": 4_294_967_295u64},
                "source_attempts_per_minute": int(1, 10000)
            })),
            "four_eyes": section(json!({
                "operations": {"type": "array", "items": {"enum": ["subject.erase", "records.export", "grants.change", "policy.change"]}},
                "approval_hours": int(1, 720)
            })),
            "networks": section(json!({"sign_in": network, "api_keys": network})),
            "review": section(json!({"dormant_days": int(1, 3650), "bulk_read_subjects": int(0, 10_000_000), "bulk_read_minutes": int(1, 1440)}))
        }
    })
}

/// Adds the schemas above to the document's components, and writes out
/// the collection answer: the definition's properties and the answer's own
/// in one object (an `allOf` of a closed schema and more properties would
/// forbid the answer's own fields).
pub fn register(doc: &mut Value) {
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else { return };
    schemas.insert("Access".into(), access());
    schemas.insert("Policy".into(), policy());
    let def = schemas.get("CollectionDef").cloned();
    if let (Some(mut merged), Some(out)) = (def, schemas.get("CollectionOut")) {
        if let Some(own) = out.pointer("/allOf/1").cloned() {
            if let (Some(props), Some(extra)) = (merged["properties"].as_object_mut(), own["properties"].as_object()) {
                props.extend(extra.clone());
            }
            let mut required = merged["required"].as_array().cloned().unwrap_or_default();
            required.extend(own["required"].as_array().cloned().unwrap_or_default());
            merged["required"] = Value::Array(required);
            if let Some(d) = out.get("description") {
                merged["description"] = d.clone();
            }
            schemas.insert("CollectionOut".into(), merged);
        }
    }
}

/// The offboarding checklist items, as an enum.
pub fn offboarding_items() -> RefOr<Schema> {
    let item = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(crate::service::identity::staff::OFFBOARDING_ITEMS.iter().copied()));
    RefOr::T(Schema::Array(utoipa::openapi::ArrayBuilder::new().items(item).build()))
}
