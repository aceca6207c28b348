"""Every domain's Blueprint, in one list: app.py registers them; the OpenAPI builder imports them."""
from chalicelib.clients.routes import bp as clients
from chalicelib.compliance.routes import bp as compliance
from chalicelib.firms.routes import bp as firms
from chalicelib.ops.routes import bp as ops
from chalicelib.products.catalogue.routes import bp as catalogue
from chalicelib.products.holdings.routes import bp as holdings
from chalicelib.products.performance.routes import bp as performance
from chalicelib.search.routes import bp as search
from chalicelib.system.routes import bp as system

BLUEPRINTS = [system, firms, clients, catalogue, holdings, performance, search, compliance, ops]
