"""toolwire: reliable OpenAI-style function calling for local GGUF models.

    import toolwire
    model = toolwire.load()                       # the embedded default model
    model.chat(messages, tools=tools)             # an OpenAI chat.completion dict
    toolwire.connect("http://127.0.0.1:8080", kind="llama.cpp")   # generate on a server

    @toolwire.tool
    def get_weather(city: str) -> dict: ...
    toolwire.run("Weather in Paris?", tools=[get_weather])
"""

from toolwire.agent import RunResult, Toolkit, arun, run, tool
from toolwire.chat import ChatModel, load
from toolwire.errors import ModelError, RequestError, SchemaError, TemplateError, ToolwireError, UpstreamError
from toolwire.formats import FORMAT_NAMES, get_format
from toolwire.gateway import connect
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
    "Toolkit",
    "ToolwireError",
    "UpstreamError",
    "__version__",
    "arun",
    "connect",
    "get_format",
    "load",
    "run",
    "tool",
]
