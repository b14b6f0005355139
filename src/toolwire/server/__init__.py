"""The HTTP server: `create_app(model)` and the request models of the APIs it speaks
(OpenAI chat and text completions, OpenAI Responses, Anthropic Messages)."""

from toolwire.server.app import ChatModel, create_app
from toolwire.server.messages import MessagesRequest
from toolwire.server.protocol import ChatCompletionRequest, CompletionRequest, error_body
from toolwire.server.responses import ResponsesRequest

__all__ = ["ChatCompletionRequest", "ChatModel", "CompletionRequest", "MessagesRequest", "ResponsesRequest",
           "create_app", "error_body"]
