from tests.conftest import SimpleIntegration


def test_register_and_enable(manager, db):
    integration = manager.register_integration_class(SimpleIntegration)
    manager.check_expired()
    assert not integration.enabled
    integration.create_config(name="one", enabled=True, save=True)
    assert integration.enabled
    assert [c.name for c in integration.get_configs()] == ["one"]
