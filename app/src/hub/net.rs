//! The browser side of "Open from Hugging Face": downloads with progress and cancel
//! (an `AbortController`), each file streamed into the browser's Cache Storage while it
//! arrives (keyed by its hub URL; the body is split with `tee()`, so the page never holds
//! a second copy), the list of stored models (localStorage, written once every file of a
//! model is stored), and reading a stored model back without the network.

use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{HubFile, RepoRef, DEFAULT_HUB};
use crate::web::{self, js_error_text};

/// The Cache Storage cache that holds downloaded model files.
pub const CACHE_NAME: &str = "hybrid-hf-v1";
/// The localStorage key of the list of stored models.
const STORED_KEY: &str = "hybrid.hf.stored";

/// A model whose files are all in the browser's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredModel {
    pub repo: RepoRef,
    /// The files, in the order they are read back.
    pub files: Vec<HubFile>,
}

impl StoredModel {
    /// Bytes of all its files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The hub the page uses: `?hub=URL` in the page's address, else the public hub.
pub fn hub_from_page() -> String {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("hub"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HUB.to_string())
}

fn local_storage() -> Result<web_sys::Storage, String> {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .ok_or_else(|| "this browser gives the page no localStorage".to_string())
}

/// The stored models (an unreadable list reads as empty).
pub fn stored() -> Vec<StoredModel> {
    local_storage()
        .ok()
        .and_then(|s| s.get_item(STORED_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save_stored(list: &[StoredModel]) -> Result<(), String> {
    let text = serde_json::to_string(list).map_err(|e| e.to_string())?;
    local_storage()?.set_item(STORED_KEY, &text).map_err(|e| {
        format!(
            "could not write the list of stored models: {}",
            js_error_text(&e)
        )
    })
}

async fn cache() -> Result<web_sys::Cache, String> {
    let window = web_sys::window().ok_or("no browser window")?;
    let caches = window
        .caches()
        .map_err(|e| format!("this page has no Cache Storage: {}", js_error_text(&e)))?;
    let cache = JsFuture::from(caches.open(CACHE_NAME))
        .await
        .map_err(|e| format!("could not open the browser's store: {}", js_error_text(&e)))?;
    cache
        .dyn_into()
        .map_err(|_| "the browser's store is not a Cache".to_string())
}

async fn settle(promise: js_sys::Promise, what: &str) -> Result<wasm_bindgen::JsValue, String> {
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("{what}: {}", js_error_text(&e)))
}

/// Downloads `url` into memory and into the browser's store at once, calling
/// `progress(received, total)` after each chunk; `signal` cancels it.
pub async fn download(
    url: &str,
    signal: &web_sys::AbortSignal,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let response = web::fetch(url, Some(signal)).await?;
    let Some(body) = response.body() else {
        let bytes = web::read_body(url, &response, progress).await?;
        store_bytes(url, &bytes).await?;
        return Ok(bytes);
    };
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let branches = body.tee();
    let (Ok(mine), Ok(theirs)) = (
        branches.get(0).dyn_into::<web_sys::ReadableStream>(),
        branches.get(1).dyn_into::<web_sys::ReadableStream>(),
    ) else {
        return Err(format!("{url}: could not split the download"));
    };
    let copy = web_sys::Response::new_with_opt_readable_stream(Some(&theirs))
        .map_err(|e| format!("{url}: {}", js_error_text(&e)))?;
    // JsFuture attaches its handlers now, so a put that fails (a cancelled download) is
    // never an unhandled rejection
    let put = JsFuture::from(cache().await?.put_with_str(url, &copy));
    let bytes = web::read_stream(url, &mine, total, progress).await;
    let stored = put
        .await
        .map_err(|e| format!("could not store {url}: {}", js_error_text(&e)));
    let bytes = bytes?;
    stored?;
    Ok(bytes)
}

/// Puts bytes already in memory (`config.json`, read before the download) into the store.
pub async fn store_bytes(url: &str, bytes: &[u8]) -> Result<(), String> {
    let array = Uint8Array::from(bytes);
    let response = web_sys::Response::new_with_opt_buffer_source(Some(&array))
        .map_err(|e| format!("{url}: {}", js_error_text(&e)))?;
    let put = cache().await?.put_with_str(url, &response);
    settle(put, &format!("could not store {url}")).await?;
    Ok(())
}

/// Reads a stored file back (no network), with progress against its listed `size`.
pub async fn read_stored(
    url: &str,
    size: u64,
    progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let found = settle(cache().await?.match_with_str(url), url).await?;
    let response: web_sys::Response = found
        .dyn_into()
        .map_err(|_| format!("{url} is not in the browser's store (removed?)"))?;
    match response.body() {
        Some(body) => web::read_stream(url, &body, Some(size), progress).await,
        None => web::read_body(url, &response, progress).await,
    }
}

/// Records `model` as stored (replacing an older entry of the same repository and
/// revision); returns the new list.
pub fn add_stored(model: StoredModel) -> Result<Vec<StoredModel>, String> {
    let mut list = stored();
    list.retain(|m| m.repo != model.repo);
    list.push(model);
    save_stored(&list)?;
    Ok(list)
}

/// Removes `model` from the list, then its files from the store; returns the new list.
pub async fn remove_stored(model: &StoredModel) -> Result<Vec<StoredModel>, String> {
    let mut list = stored();
    list.retain(|m| m.repo != model.repo);
    save_stored(&list)?;
    let paths: Vec<&str> = model.files.iter().map(|f| f.path.as_str()).collect();
    remove_files(&model.repo, &paths).await?;
    Ok(list)
}

/// Deletes files of `repo` from the store (those not there are skipped).
pub async fn remove_files(repo: &RepoRef, paths: &[&str]) -> Result<(), String> {
    let cache = cache().await?;
    for path in paths {
        let url = repo.file_url(path);
        settle(
            cache.delete_with_str(&url),
            &format!("could not remove {url}"),
        )
        .await?;
    }
    Ok(())
}
