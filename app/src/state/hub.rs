//! "Open from Hugging Face": what the panel shows and does. Looking a repository up lists
//! its files and reads `config.json` (family, layer plan, memory estimate) before any
//! weight is fetched; downloading fetches the rest with progress per file and in total,
//! into the browser's store as it arrives (`hub::net`), and can be cancelled; stored
//! models open again without the network. The model goes into a slot through
//! `Actions::open_files`, like a checkpoint from disk.
//!
//! Hand-written, not a resource: the download reports progress, is cancelled, and ends by
//! opening a model.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::loading::Actions;
use crate::engine::{check_fits_page, shard_files, INDEX_FILE};
use crate::hub::net::{self, StoredModel};
use crate::hub::{
    listed_bytes, parse_tree, weights_bytes, weights_entry, HubFile, Preview, RepoRef, SIDE_FILES,
};
use crate::web;

/// A repository looked up: its files and what its `config.json` says.
#[derive(Clone, Debug, PartialEq)]
pub struct Lookup {
    pub repo: RepoRef,
    pub files: Vec<HubFile>,
    /// The config read by the importer (or its error), and the weights' entry file.
    pub preview: Result<(Preview, &'static str), String>,
}

/// Where a download or an opening is.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub file: String,
    /// File `index` of `count` (1-based).
    pub index: usize,
    pub count: usize,
    pub received: u64,
    pub size: u64,
    /// Bytes of all the files before this one, and of all of them.
    pub done: u64,
    pub total: u64,
}

/// What the panel is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    Idle,
    /// Listing the files and reading config.json.
    LookingUp,
    /// Downloading (or reading from the store: `from_store`).
    Fetching {
        progress: Progress,
        from_store: bool,
    },
    Failed(String),
    /// config.json was refused (the look-up shows why).
    Refused,
    /// The model is open (its label).
    Opened(String),
}

impl Phase {
    /// The word tests read.
    pub fn marker(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::LookingUp => "looking-up",
            Phase::Fetching { .. } => "fetching",
            Phase::Failed(_) | Phase::Refused => "error",
            Phase::Opened(_) => "opened",
        }
    }

    fn busy(&self) -> bool {
        matches!(self, Phase::LookingUp | Phase::Fetching { .. })
    }
}

/// The panel's state.
#[derive(Clone, Copy)]
pub struct HubState {
    pub shown: RwSignal<bool>,
    /// The hub's address (`?hub=` or huggingface.co).
    pub hub: RwSignal<String>,
    pub repo: RwSignal<String>,
    pub revision: RwSignal<String>,
    /// The context the memory estimate is for, as typed.
    pub context: RwSignal<String>,
    pub lookup: RwSignal<Option<Lookup>>,
    pub phase: RwSignal<Phase>,
    pub stored: RwSignal<Vec<StoredModel>>,
    /// `config.json` of the looked-up repository (stored with the other files).
    config: StoredValue<Option<Vec<u8>>>,
    abort: StoredValue<Option<web_sys::AbortController>, LocalStorage>,
}

impl HubState {
    pub fn new() -> Self {
        HubState {
            shown: RwSignal::new(false),
            hub: RwSignal::new(net::hub_from_page()),
            repo: RwSignal::new(String::new()),
            revision: RwSignal::new("main".into()),
            context: RwSignal::new("2048".into()),
            lookup: RwSignal::new(None),
            phase: RwSignal::new(Phase::Idle),
            stored: RwSignal::new(net::stored()),
            config: StoredValue::new(None),
            abort: StoredValue::new_local(None),
        }
    }

    /// Whether a look-up or download is under way (tracked).
    pub fn busy(self) -> bool {
        self.phase.get().busy()
    }

    /// Lists the repository's files and reads its config.json (nothing else).
    pub async fn look_up(self) {
        self.lookup.set(None);
        self.config.set_value(None);
        let repo = match RepoRef::parse(
            &self.hub.get_untracked(),
            &self.repo.get_untracked(),
            &self.revision.get_untracked(),
        ) {
            Ok(r) => r,
            Err(e) => return self.phase.set(Phase::Failed(e)),
        };
        self.phase.set(Phase::LookingUp);
        match self.list_and_preview(&repo).await {
            Ok(lookup) => {
                self.phase.set(match &lookup.preview {
                    Ok(_) => Phase::Idle,
                    Err(_) => Phase::Refused,
                });
                self.lookup.set(Some(lookup));
            }
            Err(e) => self.phase.set(Phase::Failed(e)),
        }
    }

    async fn list_and_preview(self, repo: &RepoRef) -> Result<Lookup, String> {
        let url = repo.tree_url();
        let listing = web::fetch_bytes(&url, |_, _| {}).await?;
        let files = parse_tree(&listing).map_err(|e| format!("{url}: {e}"))?;
        let preview = match weights_entry(&files) {
            Ok(entry) => {
                let config = web::fetch_bytes(&repo.file_url("config.json"), |_, _| {}).await?;
                let download = weights_bytes(&files);
                let preview = Preview::read(&repo.label(), &config).and_then(|p| {
                    check_fits_page(&repo.label(), &p.config, Some(download))?;
                    Ok(p)
                });
                self.config.set_value(Some(config));
                preview.map(|p| (p, entry))
            }
            Err(e) => Err(e),
        };
        Ok(Lookup {
            repo: repo.clone(),
            files,
            preview,
        })
    }

    /// Downloads the looked-up model's files (into the store too) and opens it.
    pub async fn download(self, actions: Actions) {
        let (Some(lookup), Some(config)) = (self.lookup.get_untracked(), self.config.get_value())
        else {
            return;
        };
        let Ok((_, entry)) = lookup.preview else {
            return;
        };
        let Ok(controller) = web_sys::AbortController::new() else {
            return self
                .phase
                .set(Phase::Failed("this browser cannot cancel downloads".into()));
        };
        let signal = controller.signal();
        self.abort.set_value(Some(controller));
        let result = self.fetch_all(&lookup, config, entry, &signal).await;
        self.abort.set_value(None);
        match result {
            Ok(files) => {
                let stored = StoredModel {
                    repo: lookup.repo.clone(),
                    files: files
                        .iter()
                        .map(|(path, b)| HubFile {
                            path: path.clone(),
                            size: b.len() as u64,
                        })
                        .collect(),
                };
                match net::add_stored(stored) {
                    Ok(list) => self.stored.set(list),
                    Err(e) => return self.phase.set(Phase::Failed(e)),
                }
                self.open(actions, &lookup.repo, &files);
            }
            Err(e) => {
                // what this download stored so far goes (a stored model lists all its files)
                let mut paths: Vec<&str> = SIDE_FILES.to_vec();
                paths.push(entry);
                paths.extend(
                    lookup
                        .files
                        .iter()
                        .map(|f| f.path.as_str())
                        .filter(|p| p.ends_with(".safetensors")),
                );
                let cleaned = net::remove_files(&lookup.repo, &paths).await;
                let why = match signal.aborted() {
                    true => format!("Cancelled ({e})."),
                    false => e,
                };
                self.phase.set(Phase::Failed(match cleaned {
                    Ok(()) => why,
                    Err(c) => format!("{why} Also: {c}"),
                }));
            }
        }
    }

    /// config.json (already read), tokenizer.json, then the index and its shards or
    /// model.safetensors, with progress.
    async fn fetch_all(
        self,
        lookup: &Lookup,
        config: Vec<u8>,
        entry: &'static str,
        signal: &web_sys::AbortSignal,
    ) -> Result<Vec<(String, Vec<u8>)>, String> {
        let repo = &lookup.repo;
        net::store_bytes(&repo.file_url("config.json"), &config).await?;
        let mut names: Vec<String> = vec![SIDE_FILES[1].to_string(), entry.to_string()];
        // the shards are known once the index is read; until then count every weight file
        let mut total = listed_bytes(&lookup.files, &names);
        if entry == INDEX_FILE {
            total += weights_bytes(&lookup.files);
        }
        let mut done = 0;
        let mut files = vec![("config.json".to_string(), config)];
        let mut i = 0;
        while let Some(name) = names.get(i).cloned() {
            let size = listed_bytes(&lookup.files, std::slice::from_ref(&name));
            let bytes = self
                .fetch_one(
                    &repo.file_url(&name),
                    &name,
                    (i, names.len()),
                    size,
                    (done, total),
                    Some(signal),
                )
                .await?;
            done += bytes.len() as u64;
            if name == INDEX_FILE {
                let shards = shard_files(&bytes).map_err(|e| format!("{INDEX_FILE}: {e}"))?;
                names.extend(shards);
                total = done + listed_bytes(&lookup.files, &names[i + 1..]);
            }
            files.push((name, bytes));
            i += 1;
        }
        Ok(files)
    }

    /// One file, downloaded (with `signal`) or read from the store, with progress.
    async fn fetch_one(
        self,
        url: &str,
        name: &str,
        (index, count): (usize, usize),
        size: u64,
        (done, total): (u64, u64),
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<Vec<u8>, String> {
        let set = move |received: u64| {
            self.phase.set(Phase::Fetching {
                progress: Progress {
                    file: name.to_string(),
                    index: index + 1,
                    count,
                    received,
                    size,
                    done,
                    total,
                },
                from_store: signal.is_none(),
            })
        };
        set(0);
        let progress = |received, _| set(received);
        match signal {
            Some(s) => net::download(url, s, progress).await,
            None => net::read_stored(url, size, progress).await,
        }
    }

    /// Cancels the download under way.
    pub fn cancel(self) {
        if let Some(c) = self.abort.get_value() {
            c.abort();
        }
    }

    /// Opens a stored model from the browser's store (no network).
    pub async fn open_stored(self, actions: Actions, model: StoredModel) {
        let total = model.bytes();
        let (mut done, mut files) = (0, Vec::new());
        for (i, f) in model.files.iter().enumerate() {
            let url = model.repo.file_url(&f.path);
            let count = model.files.len();
            match self
                .fetch_one(&url, &f.path, (i, count), f.size, (done, total), None)
                .await
            {
                Ok(bytes) => {
                    done += bytes.len() as u64;
                    files.push((f.path.clone(), bytes));
                }
                Err(e) => return self.phase.set(Phase::Failed(e)),
            }
        }
        self.open(actions, &model.repo, &files);
    }

    /// Removes a stored model from the browser's store.
    pub fn remove_stored(self, model: StoredModel) {
        spawn_local(async move {
            match net::remove_stored(&model).await {
                Ok(list) => self.stored.set(list),
                Err(e) => self.phase.set(Phase::Failed(e)),
            }
        });
    }

    fn open(self, actions: Actions, repo: &RepoRef, files: &[(String, Vec<u8>)]) {
        let label = repo.label();
        let description = format!(
            "Opened from {}/{} (stored in this browser).",
            repo.hub, repo.repo
        );
        match actions.open_files(&label, &description, files) {
            Ok(()) => self.phase.set(Phase::Opened(label)),
            Err(e) => self.phase.set(Phase::Failed(e)),
        }
    }
}

impl Default for HubState {
    fn default() -> Self {
        Self::new()
    }
}
