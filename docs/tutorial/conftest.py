pytest_plugins = ["flask_integrations.testing"]
