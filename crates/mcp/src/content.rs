//! An MCP tool result as the model's observation: text as is, structured content as JSON,
//! images and audio as a placeholder line, embedded resources by their text or URI.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

/// The observation text of a result (capped later, like every tool's, by the turn).
pub(crate) fn observation(result: &CallToolResult) -> String {
    let mut parts: Vec<String> = result.content.iter().map(block).collect();
    if let Some(structured) = &result.structured_content {
        // Servers usually repeat structured content as text; only add it when they did not.
        let json = structured.to_string();
        if !parts.iter().any(|p| p.contains(&json)) {
            parts.push(format!("structured content: {json}"));
        }
    }
    if parts.is_empty() {
        return "(the tool returned no content)".into();
    }
    parts.join("\n")
}

fn block(block: &ContentBlock) -> String {
    match block {
        ContentBlock::Text(t) => t.text.clone(),
        ContentBlock::Image(i) => format!(
            "[image: {}, {} bytes, not shown to the model]",
            i.mime_type,
            decoded_len(&i.data)
        ),
        ContentBlock::Audio(a) => format!(
            "[audio: {}, {} bytes, not shown to the model]",
            a.mime_type,
            decoded_len(&a.data)
        ),
        ContentBlock::Resource(r) => match &r.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource {uri}]\n{text}")
            }
            ResourceContents::BlobResourceContents { uri, mime_type, .. } => format!(
                "[resource {uri}: {}, binary, not shown]",
                mime_type.as_deref().unwrap_or("unknown type")
            ),
            #[allow(unreachable_patterns)]
            _ => "[resource of an unknown kind]".into(),
        },
        ContentBlock::ResourceLink(link) => format!("[resource link: {}]", link.uri),
        #[allow(unreachable_patterns)]
        _ => "[content of a kind llm-repl does not show]".into(),
    }
}

/// Bytes a base64 text decodes to (padding aside).
fn decoded_len(b64: &str) -> usize {
    let data = b64.trim_end_matches('=').len();
    data * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_structured_and_images_become_lines() {
        let mut result = CallToolResult::success(vec![
            ContentBlock::text("hello"),
            ContentBlock::image("aGVsbG8=", "image/png"),
        ]);
        result.structured_content = Some(serde_json::json!({"sum": 3}));
        let text = observation(&result);
        assert_eq!(
            text,
            "hello\n[image: image/png, 5 bytes, not shown to the model]\nstructured content: \
             {\"sum\":3}"
        );
        let empty = CallToolResult::success(vec![]);
        assert_eq!(observation(&empty), "(the tool returned no content)");
    }
}
