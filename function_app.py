"""The Azure Functions entry point: checks settings, builds the app, registers the blueprints."""

import azure.functions as func

from functions import blueprints
from shared.app.startup import start

start()  # a missing or malformed setting stops the host here, with a message naming it

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in blueprints():
    app.register_functions(blueprint)
