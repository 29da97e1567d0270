//! The wrapper every exported body runs in: catches panics, records the thread's last error and
//! turns results into status codes.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use poto_sessions::{Result, SessionError};

use crate::status::poto_status;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn set_last_error(message: String) {
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(message));
}

/// Runs `body`; a panic becomes `POTO_ERR_INTERNAL`. On error the message is kept for
/// [`poto_last_error_message`].
pub fn guard(body: impl FnOnce() -> Result<()>) -> poto_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => poto_status::POTO_OK,
        Ok(Err(error)) => fail(&error),
        Err(panic) => fail(&poto_sessions::runtime::panic_error("call", &*panic)),
    }
}

/// Records `error` as the thread's last error and returns its status.
pub fn fail(error: &SessionError) -> poto_status {
    set_last_error(error.to_string());
    error.kind().into()
}

/// The message of the last failed `poto_` call on this thread, or `""`. The pointer stays valid
/// until the next failing call on this thread; do not free it.
#[no_mangle]
pub extern "C" fn poto_last_error_message() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ref().map_or(c"".as_ptr(), |m| m.as_ptr()))
}
