//! Entry point of the CPU engine's Web Worker (see `hybrid_app::worker`).

fn main() {
    console_error_panic_hook::set_once();
    #[cfg(target_arch = "wasm32")]
    hybrid_app::worker::start();
}
