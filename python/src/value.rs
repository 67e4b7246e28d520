//! A result in libguestfs's shape ([`Value`], from the protocol crate, where the shell's
//! forms come from too) as libguestfs's Python binding returns it: text as `str` (bytes
//! that are not UTF-8 kept as surrogates, `os.fsdecode`'s way), `RBufferOut` as `bytes`,
//! structs as dicts, hashtables as dicts with `python_return_dict=True` and as lists of
//! `(key, value)` tuples otherwise, `FOptPercent` as a float or None.

use guestwright::protocol::value::Value;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use pyo3::IntoPyObjectExt;

/// Text as `str`; bytes that are not UTF-8 as surrogates.
fn text<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(PyString::new(py, s).into_any()),
        Err(_) => PyBytes::new(py, bytes).call_method1("decode", ("utf-8", "surrogateescape")),
    }
}

/// The Python object libguestfs's binding would return for `value`.
pub fn to_python<'py>(
    py: Python<'py>,
    value: &Value,
    as_dict: bool,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::None => py.None().into_bound(py),
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::Int(n) => n.into_bound_py_any(py)?,
        Value::UInt(n) => n.into_bound_py_any(py)?,
        Value::Float(f) => f.into_bound_py_any(py)?,
        Value::Text(t) => text(py, t)?,
        Value::Bytes(b) => PyBytes::new(py, b).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item, as_dict)?)?;
            }
            list.into_any()
        }
        Value::Struct(fields) => {
            let dict = PyDict::new(py);
            for (name, v) in fields {
                dict.set_item(name, to_python(py, v, as_dict)?)?;
            }
            dict.into_any()
        }
        Value::Hash(pairs) if as_dict => {
            let dict = PyDict::new(py);
            for (k, v) in pairs {
                dict.set_item(text(py, k)?, text(py, v)?)?;
            }
            dict.into_any()
        }
        Value::Hash(pairs) => {
            let list = PyList::empty(py);
            for (k, v) in pairs {
                list.append(PyTuple::new(py, [text(py, k)?, text(py, v)?])?)?;
            }
            list.into_any()
        }
    })
}
