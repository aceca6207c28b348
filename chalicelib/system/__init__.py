"""Service-level endpoints: health, the OpenAPI document and its rendered docs page."""
