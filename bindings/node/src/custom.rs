//! A provider written in JS, as the core's `HostObject`: which of the seed's methods the object
//! has, and calling one through the bridge (lib/custom.js calls the method, awaits it and replies
//! with its result as JSON). Everything else — required methods, the versioned pair rule, the
//! count and stats fallbacks, reading results, stamping and the per-user lock — is the core's
//! `host_provider`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::host::{host_provider, HostCall, HostMethod, HostObject};
use poto_sessions::{CustomOptions, Result, SessionError, SessionProvider};
use serde_json::{json, Value};

use crate::bridge::call_js;
use crate::errors::invalid;

/// Every method a JS provider may have, in JS's spelling (required ones first).
pub fn method_names() -> Vec<&'static str> {
    HostMethod::REQUIRED.into_iter().chain(HostMethod::OPTIONAL).map(HostMethod::camel_name).collect()
}

/// The JS object registered as bridge target `target`, which has `methods`.
struct JsObject {
    target: u32,
    methods: Vec<HostMethod>,
}

/// The provider over JS object `target`; `methods` are the names of the methods it has.
pub fn js_provider(target: u32, methods: &[String], options: &CustomOptions) -> Result<Arc<dyn SessionProvider>> {
    let methods = methods
        .iter()
        .map(|name| {
            HostMethod::REQUIRED
                .into_iter()
                .chain(HostMethod::OPTIONAL)
                .find(|m| m.camel_name() == name)
                .ok_or_else(|| invalid(format!("{name} is not a provider method")))
        })
        .collect::<Result<Vec<_>>>()?;
    host_provider(Arc::new(JsObject { target, methods }), options, HostMethod::camel_name)
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

#[async_trait]
impl HostObject for JsObject {
    fn implements(&self, method: HostMethod) -> bool {
        self.methods.contains(&method)
    }

    async fn call(&self, call: HostCall) -> Result<Value> {
        let name = call.method().camel_name();
        let args = match call {
            HostCall::GetSession { user_id }
            | HostCall::DeleteSession { user_id }
            | HostCall::HasSession { user_id }
            | HostCall::GetVersioned { user_id } => json!([user_id]),
            HostCall::SetSession { user_id, data, ttl } => json!([user_id, data, ms(ttl)]),
            HostCall::CleanupOldSessions { max_age } => json!([max_age.as_millis() as u64]),
            HostCall::GetActiveSessions | HostCall::Clear | HostCall::Count | HostCall::GetStats => json!([]),
            HostCall::CompareAndSet { user_id, expected, data, ttl } => json!([user_id, expected, data, ms(ttl)]),
        };
        let text = call_js(self.target, name, args.to_string()).await?;
        serde_json::from_str(&text).map_err(|e| SessionError::Provider(format!("{name} returned unreadable JSON: {e}")))
    }
}
