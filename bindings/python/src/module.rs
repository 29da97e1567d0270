//! The module layer for Python: `PotoModule` / `LLMPotoModule` over one native class, with the
//! user id explicit (the Python package reads it from a context variable).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use poto_sessions::{LLMPotoModule, ModuleOptions, PotoModule, Result, SessionData, SessionDefaults, SessionError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{session_to_py, to_json, to_session, Json, Session, Text};
use crate::errors::to_py;
use crate::host::Host;
use crate::options::from_kwargs;
use crate::providers::{provider_of, SessionStats};
use crate::runtime::{awaitable, awaitable_py, blocking, blocking_py};

/// Default data from a Python callable `(user_id, base) -> dict` (sync or async).
struct PyDefaults(Host);

#[async_trait]
impl SessionDefaults for PyDefaults {
    async fn create_default_session_data(&self, user_id: &str, base: SessionData) -> Result<SessionData> {
        let user_id = user_id.to_owned();
        // Not a session: the caller's mistake, as any value that is not JSON (as in Node).
        let convert = |value: &Bound<'_, PyAny>| {
            to_session(value).map_err(|e| match e {
                SessionError::InvalidArgument(why) => {
                    SessionError::InvalidArgument(format!("create_default_session_data result: {why}"))
                }
                other => other,
            })
        };
        self.0
            .call_on_loop(move |py| (user_id, session_to_py(py, &base)?).into_pyobject(py), convert)
            .await
            .map_err(|(error, _)| error)
    }
}

/// `PotoModule` and `LLMPotoModule` (one core module type; an LLM one answers the LLM calls).
#[pyclass(frozen, module = "poto_sessions._native")]
pub struct NativeModule {
    module: PotoModule,
}

impl NativeModule {
    /// Whether the module's provider completes without I/O (see `runtime::awaitable`).
    fn inline(&self) -> bool {
        self.module.provider().completes_inline()
    }

    fn llm(&self) -> PyResult<LLMPotoModule> {
        LLMPotoModule::of(&self.module).map_err(to_py)
    }
}

/// Applies a Python update function; its own exception is re-raised as is.
async fn update(module: PotoModule, user_id: String, apply: Host) -> PyResult<Session> {
    let raised: Arc<Mutex<Option<Arc<PyErr>>>> = Arc::default();
    let result = crate::errors::with_causes(module.update_user_session_with(
        &user_id,
        poto_sessions::NumberModel::IntegersAndFloats,
        |data| {
            let (apply, raised) = (apply.clone(), raised.clone());
            async move {
                match apply.call_on_loop(move |py| (session_to_py(py, &data)?,).into_pyobject(py), to_session).await {
                    Ok(session) => Ok(session),
                    Err((error, exception)) => {
                        *raised.lock().unwrap_or_else(|p| p.into_inner()) = exception;
                        Err(error)
                    }
                }
            }
        },
    ))
    .await;
    match result {
        Ok(session) => Ok(Session(session)),
        Err(error) => match raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(exception) => Err(Python::attach(|py| exception.clone_ref(py))),
            None => Err(error),
        },
    }
}

#[pymethods]
impl NativeModule {
    /// `options`: the module options of the core's schema (`ModuleOptions`).
    #[new]
    #[pyo3(signature = (provider=None, *, llm=false, defaults=None, **options))]
    fn new(
        provider: Option<&Bound<'_, PyAny>>,
        llm: bool,
        defaults: Option<Py<PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let options: ModuleOptions = from_kwargs(if llm { "LLMPotoModule" } else { "PotoModule" }, options)?;
        let provider = provider.filter(|p| !p.is_none()).map(provider_of).transpose()?;
        let defaults = defaults.map(|d| Arc::new(PyDefaults(Host::new(d))) as Arc<dyn SessionDefaults>);
        Ok(NativeModule { module: PotoModule::from_options(llm, provider, defaults, options).map_err(to_py)? })
    }

    fn base_session_data<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyDict>> {
        session_to_py(py, &self.module.base_session_data(&user_id))
    }

    fn get_user_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let m = self.module.clone();
        awaitable(py, self.inline(), async move { m.get_user_session_for(&user_id).await.map(Session) })
    }

    fn get_user_session_sync<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyDict>> {
        session_to_py(py, &blocking(py, self.module.get_user_session_for(&user_id))?)
    }

    fn update_user_session<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        apply: Py<PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        awaitable_py(py, self.inline(), update(self.module.clone(), user_id.0, Host::new(apply)))
    }

    fn update_user_session_sync<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        apply: Py<PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let session = blocking_py(py, update(self.module.clone(), user_id.0, Host::new(apply)))?;
        session_to_py(py, &session.0)
    }

    fn delete_user_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let m = self.module.clone();
        awaitable(py, self.inline(), async move { m.delete_user_session_for(&user_id).await })
    }

    fn delete_user_session_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<()> {
        blocking(py, self.module.delete_user_session_for(&user_id))
    }

    fn get_session_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.module.clone();
        awaitable(py, self.inline(), async move { m.get_session_stats().await.map(SessionStats::from) })
    }

    fn get_session_stats_sync(&self, py: Python<'_>) -> PyResult<SessionStats> {
        blocking(py, self.module.get_session_stats()).map(SessionStats::from)
    }

    fn set_session_value<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        key: Text,
        value: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (m, value) = (self.module.clone(), to_json(value).map_err(to_py)?);
        awaitable(py, self.inline(), async move { m.set_session_value_for(&user_id, &key, value).await })
    }

    fn set_session_value_sync(
        &self,
        py: Python<'_>,
        user_id: Text,
        key: Text,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let value = to_json(value).map_err(to_py)?;
        blocking(py, self.module.set_session_value_for(&user_id, &key, value))
    }

    fn get_session_value<'py>(&self, py: Python<'py>, user_id: Text, key: Text) -> PyResult<Bound<'py, PyAny>> {
        let m = self.module.clone();
        awaitable(py, self.inline(), async move { Ok(m.get_session_value_for(&user_id, &key).await?.map(Json)) })
    }

    fn get_session_value_sync<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        key: Text,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        blocking(py, self.module.get_session_value_for(&user_id, &key))?
            .map(|v| crate::convert::to_py(py, &v))
            .transpose()
    }

    fn update_user_model<'py>(&self, py: Python<'py>, user_id: Text, model: Text) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(py, self.inline(), async move { llm.update_user_model_for(&user_id, &model).await })
    }

    fn update_user_model_sync(&self, py: Python<'_>, user_id: Text, model: Text) -> PyResult<()> {
        let llm = self.llm()?;
        blocking(py, llm.update_user_model_for(&user_id, &model))
    }

    fn get_user_model<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(py, self.inline(), async move { llm.get_user_model_for(&user_id).await })
    }

    fn get_user_model_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<String> {
        let llm = self.llm()?;
        blocking(py, llm.get_user_model_for(&user_id))
    }

    fn set_system_prompt<'py>(&self, py: Python<'py>, user_id: Text, prompt: Text) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(py, self.inline(), async move { llm.set_system_prompt_for(&user_id, &prompt).await })
    }

    fn set_system_prompt_sync(&self, py: Python<'_>, user_id: Text, prompt: Text) -> PyResult<()> {
        let llm = self.llm()?;
        blocking(py, llm.set_system_prompt_for(&user_id, &prompt))
    }

    fn get_system_prompt<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(py, self.inline(), async move { llm.get_system_prompt_for(&user_id).await })
    }

    fn get_system_prompt_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<Option<String>> {
        let llm = self.llm()?;
        blocking(py, llm.get_system_prompt_for(&user_id))
    }

    fn set_current_conversation_id<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        conversation_id: Text,
    ) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(
            py,
            self.inline(),
            async move { llm.set_current_conversation_id_for(&user_id, &conversation_id).await },
        )
    }

    fn set_current_conversation_id_sync(&self, py: Python<'_>, user_id: Text, conversation_id: Text) -> PyResult<()> {
        let llm = self.llm()?;
        blocking(py, llm.set_current_conversation_id_for(&user_id, &conversation_id))
    }

    fn get_current_conversation_id<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let llm = self.llm()?;
        awaitable(py, self.inline(), async move { llm.get_current_conversation_id_for(&user_id).await })
    }

    fn get_current_conversation_id_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<Option<String>> {
        let llm = self.llm()?;
        blocking(py, llm.get_current_conversation_id_for(&user_id))
    }

    #[getter]
    fn default_model(&self) -> Option<String> {
        LLMPotoModule::of(&self.module).ok().map(|l| l.default_model().to_owned())
    }
}
