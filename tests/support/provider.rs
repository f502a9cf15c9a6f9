//! An in-process model for engine benches: it answers at once, with no network between.

use async_trait::async_trait;
use letta::llm::{ChatRequest, LlmError, LlmEvent, LlmProvider, LlmStream, ModelInfo};

/// Answers every request with `n` one-word text deltas. `paced`: each delta comes only after
/// the runtime has run other tasks twice, as if read from the network one at a time, so the
/// engine cannot merge them and sends one chunk per token.
pub struct InstantTokens {
    pub n: usize,
    pub paced: bool,
}

#[async_trait]
impl LlmProvider for InstantTokens {
    async fn stream(&self, _req: ChatRequest) -> Result<LlmStream, LlmError> {
        let evs: Vec<Result<LlmEvent, LlmError>> = (0..self.n)
            .map(|i| Ok(LlmEvent::Text(format!("w{i} "))))
            .chain([Ok(LlmEvent::Done {
                finish_reason: Some("stop".into()),
            })])
            .collect();
        let paced = self.paced;
        Ok(Box::pin(futures_util::stream::unfold(
            evs.into_iter(),
            move |mut it| async move {
                if paced {
                    tokio::task::yield_now().await;
                    tokio::task::yield_now().await;
                }
                it.next().map(|ev| (ev, it))
            },
        )))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, LlmError> {
        Ok(Vec::new())
    }
}
