"""The embeddable timeline (`/widget.js`, the `/embed/{id}` iframe page, oEmbed) and the editors' console.

Like `timeline.api` it only reads the store; it builds on the API's cached read path.
"""

from timeline.web.routes import web_routes

__all__ = ["web_routes"]
