//! A progress bar for long transfers, shown only when stderr is a terminal.

use guestwright::Handle;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

/// The bar of one transfer; dropping it clears the bar.
#[derive(Debug)]
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// Shows progress of `h`'s transfers under `label` when stderr is a terminal.
    pub fn attach(h: &Handle, label: &str) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(label.to_string());
        let b = bar.clone();
        h.set_progress_callback(Some(Arc::new(move |_, p| {
            if p.total > 0 {
                b.set_length(p.total);
            }
            b.set_position(p.done);
        })));
        Bar { bar: Some(bar) }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
