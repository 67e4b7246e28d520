//! An operation's arguments from a Python call: the generated `Request::from_source` asks
//! for each by name; a `str` is read as the shell reads the word (a guest path must be
//! absolute, a size may be `10M`, a device must name one), anything else (`bytes` for data,
//! `int`, `bool`, a list of `str`) through the argument type's serde form.

use guestwright::protocol::shell::ShellArg;
use guestwright::protocol::{ArgError, ArgSource};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde::de::DeserializeOwned;

/// The keyword arguments of one call; `None` stands for an optional argument not given.
pub struct DictArgs<'a, 'py> {
    args: &'a Bound<'py, PyDict>,
}

impl<'a, 'py> DictArgs<'a, 'py> {
    pub fn new(args: &'a Bound<'py, PyDict>) -> Self {
        DictArgs { args }
    }

    fn get(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        self.args
            .get_item(name)
            .ok()
            .flatten()
            .filter(|v| !v.is_none())
    }
}

/// Converts one Python value to the argument's type.
fn convert<T: ShellArg + DeserializeOwned>(
    op: &str,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> Result<T, ArgError> {
    let wrap = |e: String| ArgError(format!("{op}: {name}: {e}"));
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract().map_err(|e: PyErr| wrap(e.to_string()))?;
        return T::parse_word(&text).map_err(|e| wrap(e.0));
    }
    pythonize::depythonize::<T>(value).map_err(|e| {
        let ty = value
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        wrap(format!("cannot use a {ty} here: {e}"))
    })
}

impl ArgSource for DictArgs<'_, '_> {
    fn required<T>(&mut self, op: &str, name: &str) -> Result<T, ArgError>
    where
        T: ShellArg + DeserializeOwned,
    {
        let value = self
            .get(name)
            .ok_or_else(|| ArgError(format!("{op}: missing argument '{name}'")))?;
        convert(op, name, &value)
    }

    fn optional<T>(&mut self, op: &str, name: &str) -> Result<Option<T>, ArgError>
    where
        T: ShellArg + DeserializeOwned,
    {
        self.get(name).map(|v| convert(op, name, &v)).transpose()
    }
}
