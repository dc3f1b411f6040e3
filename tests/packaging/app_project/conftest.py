import pytest
from shop import NOW, create_app


@pytest.fixture
def app():
    return create_app(clock=lambda: NOW)


@pytest.fixture
def client(app):
    return app.test_client()
