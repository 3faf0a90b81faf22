//! Small browser helpers: fetching bytes with progress, the WebGPU probe, the clock,
//! yielding to the event loop, and the status object that tests read.
//! Everything here returns errors as text for the page; nothing panics on bad input.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Text of a JavaScript error value.
pub fn js_error_text(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    if let Ok(m) = Reflect::get(e, &JsValue::from_str("message")) {
        if let Some(s) = m.as_string() {
            return s;
        }
    }
    format!("{e:?}")
}

/// Downloads `url` (relative to the page) into memory, calling `progress(received, total)`
/// after each chunk; `total` is the Content-Length when the server sends one.
pub async fn fetch_bytes(
    url: &str,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let response = fetch(url, None).await?;
    read_body(url, &response, progress).await
}

/// Fetches `url` (cancelled by `signal`, when given); an HTTP error is an error.
pub async fn fetch(
    url: &str,
    signal: Option<&web_sys::AbortSignal>,
) -> Result<web_sys::Response, String> {
    let window = web_sys::window().ok_or("no browser window")?;
    let init = web_sys::RequestInit::new();
    init.set_signal(signal);
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| format!("could not fetch {url}: {}", js_error_text(&e)))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("fetch of {url} did not return a Response"))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    Ok(response)
}

/// Reads a response's body into memory, calling `progress(received, total)` after each
/// chunk; `total` is the Content-Length when the response has one.
pub async fn read_body(
    url: &str,
    response: &web_sys::Response,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<u64>().ok());

    let Some(body) = response.body() else {
        let promise = response
            .array_buffer()
            .map_err(|e| format!("{url}: {}", js_error_text(&e)))?;
        let buffer = JsFuture::from(promise)
            .await
            .map_err(|e| format!("{url}: download failed: {}", js_error_text(&e)))?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        progress(bytes.len() as u64, total);
        return Ok(bytes);
    };
    read_stream(url, &body, total, progress).await
}

/// Reads a byte stream to its end (see [`read_body`]).
pub async fn read_stream(
    url: &str,
    body: &web_sys::ReadableStream,
    total: Option<u64>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let capacity = total.unwrap_or(0).min(1 << 30) as usize;
    let mut bytes = Vec::with_capacity(capacity);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: download failed: {}", js_error_text(&e)))?;
        let done = Reflect::get(&chunk, &JsValue::from_str("done"))
            .map(|v| v.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &JsValue::from_str("value"))
            .map_err(|e| format!("{url}: {}", js_error_text(&e)))?;
        let array: Uint8Array = value
            .dyn_into()
            .map_err(|_| format!("{url}: the stream gave something other than bytes"))?;
        let start = bytes.len();
        bytes.resize(start + array.length() as usize, 0);
        array.copy_to(&mut bytes[start..]);
        progress(bytes.len() as u64, total);
    }
    Ok(bytes)
}

/// What the browser offers for GPU compute.
#[derive(Clone, Debug, PartialEq)]
pub enum WebGpu {
    /// Still asking the browser.
    Checking,
    /// `navigator.gpu` gave an adapter; the text describes it.
    Available(String),
    /// No WebGPU; the text says why.
    Missing(String),
}

/// Asks `navigator.gpu.requestAdapter()` whether WebGPU can run here.
pub async fn probe_webgpu() -> WebGpu {
    match probe_webgpu_inner().await {
        Ok(adapter) => WebGpu::Available(adapter),
        Err(why) => WebGpu::Missing(why),
    }
}

async fn probe_webgpu_inner() -> Result<String, String> {
    let window = web_sys::window().ok_or("no browser window")?;
    let navigator = window.navigator();
    let gpu = Reflect::get(&navigator, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no navigator.gpu".into());
    }
    let request: js_sys::Function = Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: js_sys::Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {}", js_error_text(&e)))?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise")?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {}", js_error_text(&e)))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("navigator.gpu gave no adapter".into());
    }
    let info = Reflect::get(&adapter, &JsValue::from_str("info")).unwrap_or(JsValue::UNDEFINED);
    let field = |name: &str| {
        Reflect::get(&info, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let mut parts: Vec<String> = ["vendor", "architecture", "description"]
        .iter()
        .filter_map(|n| field(n))
        .collect();
    // `info.isFallbackAdapter` (newer browsers) or `adapter.isFallbackAdapter` (older).
    let fallback = [&info, &adapter].iter().any(|o| {
        Reflect::get(o, &JsValue::from_str("isFallbackAdapter")).is_ok_and(|v| v.is_truthy())
    });
    if fallback {
        parts.push("(fallback adapter)".into());
    }
    Ok(if parts.is_empty() {
        "unnamed adapter".into()
    } else {
        parts.join(" ")
    })
}

/// Milliseconds from the page's time origin.
pub fn now_ms() -> f64 {
    // `self.performance`: the page's or a worker's (the in-page benchmark's CPU rows are
    // timed in the CPU engine's worker)
    Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Lets the browser run events and paint before the future resumes.
pub async fn yield_to_browser() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Publishes `window.__hybrid_status` (a plain object) for tests and curious users.
pub fn publish_status(status: &serde_json::Value) {
    publish_value("__hybrid_status", status);
}

/// Sets `window[name]` to `value` (a plain object).
pub fn publish_value(name: &str, value: &serde_json::Value) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(value) = js_sys::JSON::parse(&value.to_string()) {
        let _ = Reflect::set(&window, &JsValue::from_str(name), &value);
    }
}

/// Reloads the page (after the hash changed the engine choice).
pub fn reload() {
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The page's URL hash (with `#`), or "".
pub fn location_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Replaces the URL hash without adding a history entry.
pub fn replace_hash(hash: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if window.location().hash().ok().as_deref() == Some(hash) {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(hash));
    }
}

/// Large-text mode and the color theme, as attributes on `<html>` (style.css uses them).
pub fn set_root_attributes(large: bool, theme: Option<&str>) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = if large {
        root.set_attribute("data-large", "1")
    } else {
        root.remove_attribute("data-large")
    };
    let _ = match theme {
        Some(t) => root.set_attribute("data-theme", t),
        None => root.remove_attribute("data-theme"),
    };
}

/// The files chosen in an `<input type=file>` whose name `keep` accepts (the others are
/// never read): (name, bytes) each.
pub async fn read_files(
    input: &web_sys::HtmlInputElement,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let Some(list) = input.files() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for i in 0..list.length() {
        let Some(file) = list.item(i).filter(|f| keep(&f.name())) else {
            continue;
        };
        let buffer = JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| format!("{}: could not read: {}", file.name(), js_error_text(&e)))?;
        out.push((file.name(), Uint8Array::new(&buffer).to_vec()));
    }
    Ok(out)
}
