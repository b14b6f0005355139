"""toolwire: reliable OpenAI-style function calling for local GGUF models.

    import toolwire
    model = toolwire.load()                       # the embedded default model
    model.chat(messages, tools=tools)             # an OpenAI chat.completion dict

    @toolwire.tool
    def get_weather(city: str) -> dict: ...
    toolwire.run("Weather in Paris?", tools=[get_weather])
    toolwire.run("Convert 10 km to miles", tools=toolwire.mcp("python examples/mcp_server.py"))
"""

from toolwire.agent import RunResult, ToolError, Toolkit, arun, mcp, run, tool
from toolwire.chat import ChatModel, load
from toolwire.errors import ModelError, RequestError, SchemaError, TemplateError, ToolSourceError, ToolwireError
from toolwire.formats import FORMAT_NAMES, get_format
from toolwire.models import DEFAULT_MODEL, MODELS

__version__ = "0.1.0"

__all__ = [
    "ChatModel",
    "DEFAULT_MODEL",
    "FORMAT_NAMES",
    "MODELS",
    "ModelError",
    "RequestError",
    "RunResult",
    "SchemaError",
    "TemplateError",
    "ToolError",
    "ToolSourceError",
    "Toolkit",
    "ToolwireError",
    "__version__",
    "arun",
    "get_format",
    "load",
    "mcp",
    "run",
    "tool",
]
