//! Saving the offline model as the `local` provider.

use crate::llm::local_model::{Files, KIND, LocalModel, MODEL, setup};
use crate::settings::paths::Paths;

/// Save the offline model as the `local` provider (and the default model if none is set).
pub fn save(paths: &Paths, f: &Files) -> Result<(), String> {
    let file = paths.settings_file();
    let mut cfg = crate::settings::ProviderConfig::default();
    cfg.extra.insert("kind".into(), KIND.into());
    cfg.extra
        .insert("python".into(), f.python.display().to_string().into());
    cfg.extra
        .insert("serve".into(), f.serve.display().to_string().into());
    cfg.extra
        .insert("model".into(), f.gguf.display().to_string().into());
    crate::settings::GlobalSettings::update(&file, |s| {
        s.providers.insert("local".into(), cfg);
        s.default_model
            .get_or_insert_with(|| format!("local/{MODEL}"));
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// `letta connect local` and the first-run choice: install what is missing, start the model
/// once to check it answers, then save it. `progress` hears each step.
pub async fn connect(
    paths: &Paths,
    progress: impl Fn(&str) + Send + Sync + 'static,
) -> Result<(), String> {
    use crate::llm::LlmProvider;
    let dir = paths.cache.join("local-model");
    let f = tokio::task::spawn_blocking(move || setup(&dir, &progress))
        .await
        .map_err(|e| e.to_string())??;
    LocalModel::new(f.clone())
        .list_models()
        .await
        .map_err(|e| format!("the local model did not start: {e}"))?;
    save(paths, &f)
}
