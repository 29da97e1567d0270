//! Every method and option of core's API list (`poto_sessions::api`) exists in every language:
//! the Python package (stubs and module.py), the TypeScript types of the Node package and the C
//! header. Generated from the core's schema, so a new option fails here until each binding has it.

use std::path::Path;

use poto_sessions::api::{camel_case, LLM_METHODS, MODULE_METHODS, OPTION_SETS, PROVIDER_METHODS};

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The text of `kind name` up to the next declaration of the same kind at the start of a line
/// (empty when there is none, so that every entry of it is reported missing).
fn block<'a>(text: &'a str, kind: &str, name: &str) -> &'a str {
    let heads = [format!("{kind} {name}("), format!("{kind} {name} "), format!("{kind} {name}:")];
    let Some(start) = heads.iter().filter_map(|head| text.find(head.as_str())).min() else { return "" };
    let rest = &text[start + kind.len()..];
    let end = rest.find(&format!("\n{kind} ")).unwrap_or(rest.len());
    &rest[..end]
}

struct Missing(Vec<String>);

impl Missing {
    fn check(&mut self, haystack: &str, needle: &str, what: impl std::fmt::Display) {
        if !haystack.contains(needle) {
            self.0.push(format!("{what}: `{needle}`"));
        }
    }
}

#[test]
fn every_language_has_every_method_and_option() {
    let python = read("bindings/python/python/poto_sessions/_native.pyi")
        + &read("bindings/python/python/poto_sessions/module.py");
    let node = read("bindings/node/index.d.ts");
    let c = read("include/poto_sessions.h");
    let mut missing = Missing(Vec::new());

    let (py_provider, ts_provider) =
        (block(&python, "class", "SessionProvider"), block(&node, "export declare class", "SessionProviderBase"));
    for method in PROVIDER_METHODS {
        missing.check(py_provider, &format!("def {method}("), "Python SessionProvider");
        missing.check(py_provider, &format!("def {method}_sync("), "Python SessionProvider");
        missing.check(ts_provider, &format!("  {}(", camel_case(method)), "Node SessionProviderBase");
        missing.check(&c, &format!("poto_provider_{method}("), "C");
    }
    for (class, methods) in [("PotoModule", MODULE_METHODS), ("LLMPotoModule", LLM_METHODS)] {
        let py = block(&python, "class", class);
        let ts = block(&node, "export declare class", class);
        for method in methods {
            missing.check(py, &format!("def {method}("), format!("Python {class}"));
            missing.check(py, &format!("def {method}_sync("), format!("Python {class}"));
            missing.check(ts, &format!("  {}(", camel_case(method)), format!("Node {class}"));
            if *method != "get_session_stats" {
                // Node's `...For(userId, ...)` form; stats belong to no user.
                missing.check(ts, &format!("  {}For(", camel_case(method)), format!("Node {class}"));
            }
            missing.check(&c, &format!("poto_module_{method}("), "C");
        }
    }

    for set in OPTION_SETS {
        // Where each language declares the set: Python class, TypeScript options interface.
        let (py_class, ts_interface) = match set.class {
            "InMemorySessionProvider" => ("InMemorySessionProvider", "InMemoryOptions"),
            "RedisSessionProvider" => ("RedisSessionProvider", "RedisOptions"),
            "custom provider" => ("SessionProvider", "CustomProviderOptions"),
            _ => ("PotoModule", "LLMModuleOptions"),
        };
        let (py, ts) = (block(&python, "class", py_class), block(&node, "export interface", ts_interface));
        // LLMModuleOptions extends ModuleOptions: both blocks count for modules.
        let ts_all = match set.class {
            "PotoModule" => format!("{ts}{}", block(&node, "export interface", "ModuleOptions")),
            _ => ts.to_owned(),
        };
        for spec in set.schema {
            missing.check(py, &format!("{}:", spec.name), format!("Python {} option", set.class));
            missing.check(&ts_all, &format!("{}?:", spec.node_name()), format!("Node {} option", set.class));
            missing.check(&c, &format!("{}_set_{}(", set.c_prefix, spec.c_name()), format!("C {} option", set.class));
        }
    }
    assert!(missing.0.is_empty(), "missing in a language:\n{}", missing.0.join("\n"));
}
