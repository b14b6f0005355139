"""The chat layer: OpenAI chat requests answered by a model in its own wire format.

- `request.py`: validation (`build_request` -> `ChatRequest`; errors name the field);
- `policies.py`: where toolwire changes what the model wrote, as typed, per-request
  settings (`Policies`) and pure decision functions;
- `turn.py`: one assistant turn, generation by generation, as stream events;
- `response.py`: those events and results as OpenAI completions and chunks;
- `model.py`: `ChatModel` (engine + format) and `load()`.
"""

from toolwire.chat.model import ChatModel, load
from toolwire.chat.policies import Policies
from toolwire.chat.request import ChatRequest, build_request

__all__ = ["ChatModel", "ChatRequest", "Policies", "build_request", "load"]
