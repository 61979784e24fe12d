//! Spinners for long stages on standard error (drawn only on a terminal).

use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;

/// A spinner showing `message` while a long stage runs, ticking on its own;
/// hidden when `show` is false. Clear it with `finish_and_clear`.
pub fn spinner(show: bool, message: impl Into<String>) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A bar counting `len` pieces of work named `what`, with the time left;
/// hidden when `show` is false.
pub fn bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{what} [{{bar:30}}] {{pos}}/{{len}} proofs ({{eta}} left)"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A progress callback: the stage (`"training"`, `"proving"`, ...), the work
/// done and the work in all.
pub type Callback = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// Where long library calls report their progress (for callers that draw
/// their own progress, such as the Python package); by default nowhere.
#[derive(Clone, Default)]
pub struct Observer(Option<Callback>);

impl Observer {
    /// Reports to `callback`.
    pub fn new(callback: Callback) -> Self {
        Self(Some(callback))
    }

    /// Reports nowhere.
    pub fn none() -> Self {
        Self(None)
    }

    /// Reports `done` of `total` in `stage`.
    pub fn report(&self, stage: &str, done: u64, total: u64) {
        if let Some(f) = &self.0 {
            f(stage, done, total);
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(callback)"
        } else {
            "Observer(none)"
        })
    }
}
