//! LLM module operations (DESIGN §2, §5): the user's model, system prompt and current
//! conversation, with the user id as an explicit argument, each blocking and `_async`. Text
//! comes back as a plain C string; one that another language stored with a NUL in it cannot be
//! a C string and is refused rather than cut short.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use poto_sessions::llm::{CONVERSATION_ID_KEY, CURRENT_MODEL_KEY, SYSTEM_PROMPT_KEY};
use poto_sessions::{LLMPotoModule, Result, SessionError};
use serde_json::Value;

use crate::call::guard;
use crate::callbacks::{poto_done_fn, spawn_done};
use crate::handles::{module_arg, poto_module};
use crate::render::{blocking, rendered, Json, Op};
use crate::status::poto_status;
use crate::strings::{out_arg, str_arg, to_c};

unsafe fn llm_and_user(module: *const poto_module, user_id: *const c_char) -> Result<(LLMPotoModule, String)> {
    Ok((module_arg(module)?.as_llm()?, str_arg(user_id, "user_id")?.to_owned()))
}

fn c_text(user_id: &str, key: &str, text: String) -> Result<String> {
    if text.contains('\0') {
        return Err(SessionError::CorruptData {
            user_id: user_id.to_owned(),
            detail: format!("{key} contains a NUL character, which a C string cannot hold"),
        });
    }
    Ok(text)
}

/// The `_async` result: the text as a JSON string, or `null`.
fn json_text(text: Option<String>) -> Json {
    Json(text.map_or(Value::Null, Value::String).to_string())
}

unsafe fn update_model_op(module: *const poto_module, user_id: *const c_char, model: *const c_char) -> Op<()> {
    let (llm, id) = llm_and_user(module, user_id)?;
    let model = str_arg(model, "model")?.to_owned();
    Ok(Box::pin(async move { llm.update_user_model_for(&id, &model).await }))
}

unsafe fn get_model_op(module: *const poto_module, user_id: *const c_char) -> Op<String> {
    let (llm, id) = llm_and_user(module, user_id)?;
    Ok(Box::pin(async move { c_text(&id, CURRENT_MODEL_KEY, llm.get_user_model_for(&id).await?) }))
}

unsafe fn set_prompt_op(module: *const poto_module, user_id: *const c_char, prompt: *const c_char) -> Op<()> {
    let (llm, id) = llm_and_user(module, user_id)?;
    let prompt = str_arg(prompt, "prompt")?.to_owned();
    Ok(Box::pin(async move { llm.set_system_prompt_for(&id, &prompt).await }))
}

unsafe fn get_prompt_op(module: *const poto_module, user_id: *const c_char) -> Op<Option<String>> {
    let (llm, id) = llm_and_user(module, user_id)?;
    Ok(Box::pin(async move {
        llm.get_system_prompt_for(&id).await?.map(|text| c_text(&id, SYSTEM_PROMPT_KEY, text)).transpose()
    }))
}

unsafe fn set_conversation_op(
    module: *const poto_module,
    user_id: *const c_char,
    conversation: *const c_char,
) -> Op<()> {
    let (llm, id) = llm_and_user(module, user_id)?;
    let conversation = str_arg(conversation, "conversation_id")?.to_owned();
    Ok(Box::pin(async move { llm.set_current_conversation_id_for(&id, &conversation).await }))
}

unsafe fn get_conversation_op(module: *const poto_module, user_id: *const c_char) -> Op<Option<String>> {
    let (llm, id) = llm_and_user(module, user_id)?;
    Ok(Box::pin(async move {
        llm.get_current_conversation_id_for(&id).await?.map(|text| c_text(&id, CONVERSATION_ID_KEY, text)).transpose()
    }))
}

/// Optional text for C: NULL when unset.
fn optional_c(text: Option<String>) -> Result<*mut c_char> {
    text.map_or(Ok(null_mut()), to_c)
}

/// Records the user's model (LLM modules only; `POTO_ERR_INVALID_ARGUMENT` for a generic one).
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_module_update_user_model(
    module: *const poto_module,
    user_id: *const c_char,
    model: *const c_char,
) -> poto_status {
    guard(|| blocking(update_model_op(module, user_id, model)?))
}

/// The user's model as plain text in `*out_model`, the default model when none is recorded.
///
/// # Safety
/// As `poto_module_update_user_model`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_user_model(
    module: *const poto_module,
    user_id: *const c_char,
    out_model: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_model, "out_model")?;
        *out = to_c(blocking(get_model_op(module, user_id)?)?)?;
        Ok(())
    })
}

/// Records the user's system prompt (`systemPrompt`).
///
/// # Safety
/// As `poto_module_update_user_model`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_system_prompt(
    module: *const poto_module,
    user_id: *const c_char,
    prompt: *const c_char,
) -> poto_status {
    guard(|| blocking(set_prompt_op(module, user_id, prompt)?))
}

/// The user's system prompt as plain text in `*out_prompt`, or NULL when none is recorded.
///
/// # Safety
/// As `poto_module_update_user_model`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_system_prompt(
    module: *const poto_module,
    user_id: *const c_char,
    out_prompt: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_prompt, "out_prompt")?;
        *out = optional_c(blocking(get_prompt_op(module, user_id)?)?)?;
        Ok(())
    })
}

/// Records the user's current conversation (`currentConversationId`).
///
/// # Safety
/// As `poto_module_update_user_model`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_current_conversation_id(
    module: *const poto_module,
    user_id: *const c_char,
    conversation_id: *const c_char,
) -> poto_status {
    guard(|| blocking(set_conversation_op(module, user_id, conversation_id)?))
}

/// The user's current conversation id as plain text in `*out_conversation_id`, or NULL when
/// none is recorded.
///
/// # Safety
/// As `poto_module_update_user_model`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_current_conversation_id(
    module: *const poto_module,
    user_id: *const c_char,
    out_conversation_id: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_conversation_id, "out_conversation_id")?;
        *out = optional_c(blocking(get_conversation_op(module, user_id)?)?)?;
        Ok(())
    })
}

/// `poto_module_update_user_model` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_module_update_user_model`; `user_data` valid until `done` runs.
#[no_mangle]
pub unsafe extern "C" fn poto_module_update_user_model_async(
    module: *const poto_module,
    user_id: *const c_char,
    model: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(update_model_op(module, user_id, model)?)))
}

/// `poto_module_get_user_model` for event loops: `done` receives the model as a JSON string.
///
/// # Safety
/// As `poto_module_update_user_model_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_user_model_async(
    module: *const poto_module,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| {
        let op = get_model_op(module, user_id)?;
        spawn_done(done, user_data, rendered(async move { op.await.map(|model| json_text(Some(model))) }))
    })
}

/// `poto_module_set_system_prompt` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_module_update_user_model_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_system_prompt_async(
    module: *const poto_module,
    user_id: *const c_char,
    prompt: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(set_prompt_op(module, user_id, prompt)?)))
}

/// `poto_module_get_system_prompt` for event loops: `done` receives a JSON string or `null`.
///
/// # Safety
/// As `poto_module_update_user_model_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_system_prompt_async(
    module: *const poto_module,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| {
        let op = get_prompt_op(module, user_id)?;
        spawn_done(done, user_data, rendered(async move { op.await.map(json_text) }))
    })
}

/// `poto_module_set_current_conversation_id` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_module_update_user_model_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_current_conversation_id_async(
    module: *const poto_module,
    user_id: *const c_char,
    conversation_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(set_conversation_op(module, user_id, conversation_id)?)))
}

/// `poto_module_get_current_conversation_id` for event loops: `done` receives a JSON string or
/// `null`.
///
/// # Safety
/// As `poto_module_update_user_model_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_current_conversation_id_async(
    module: *const poto_module,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| {
        let op = get_conversation_op(module, user_id)?;
        spawn_done(done, user_data, rendered(async move { op.await.map(json_text) }))
    })
}
