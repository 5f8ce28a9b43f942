"""Figure 4: the admin list page with 100 integrations × 10 configurations.

``GET /integrations/`` through the test client, admin allowed, CSRF on (the
page renders its Enable/Disable forms with a token), once with a page size
that puts all 1,000 configurations on the page (fully rendered on the
server) and once with the default page size. SQL statements are counted on
the app's engine, the before-request check included.

The baseline is the floor of any server-rendered page: a plain Jinja
template rendering the same rows from prefetched dicts.
"""

from __future__ import annotations

import re
import typing as t

import jinja2

from .apps import BenchApp, Databases, count_statements, generated_integrations
from .apps import make_app as make_bench_app
from .measure import BenchmarkError, Goal, Row, Series, Settings, sampler, side_by_side

INTEGRATIONS = 100
CONFIGS = 10
DEFAULT_PAGE_SIZE = 25

FLOOR_TEMPLATE = """<!doctype html>
<html lang="en"><head><title>Integrations</title></head><body>
<h1>Integrations</h1>
{% for integration in integrations %}
<section><h2>{{ integration.name }}</h2>
<a href="{{ integration.add_url }}">Add</a>
<table><tbody>
{% for config in integration.configs %}
<tr><th><a href="{{ config.edit_url }}">{{ config.name }}</a></th>
<td>{{ "Enabled" if config.enabled else "Disabled" }}</td>
<td><time datetime="{{ config.updated }}">{{ config.updated }}</time></td>
<td><a href="{{ config.edit_url }}">Edit</a>
<form method="post" action="{{ config.toggle_url }}">
<input type="hidden" name="csrf_token" value="{{ token }}">
<button>{{ "Disable" if config.enabled else "Enable" }}</button></form>
<a href="{{ config.delete_url }}">Delete</a></td></tr>
{% endfor %}
</tbody></table></section>
{% endfor %}
</body></html>
"""

CLASSES = generated_integrations(INTEGRATIONS, "bench.listed")


def _config_name(integration: int, number: int) -> str:
    return f"g{integration:03}-c{number:02}"


def _build(url: str, page_size: int) -> BenchApp:
    return make_bench_app(url, integrations=CLASSES, INTEGRATIONS_PAGE_SIZE=page_size)


def _seed(bench: BenchApp) -> None:
    with bench.app.app_context():
        session = bench.db.session
        for index, cls in enumerate(CLASSES):
            integration = bench.integration(t.cast(str, cls.integration_id))
            session.add_all(
                integration.create_config(
                    name=_config_name(index, number),
                    enabled=number % 3 != 0,
                    settings={"channel": f"#{number}"},
                )
                for number in range(CONFIGS)
            )
        session.commit()


def _floor(rows: int) -> t.Callable[[], str]:
    """Render ``rows`` configurations with a plain Jinja template."""
    template = jinja2.Environment(autoescape=True).from_string(FLOOR_TEMPLATE)
    integrations = []
    for index, cls in enumerate(CLASSES):
        prefix = f"/integrations/{cls.integration_id}/configs"
        configs = [
            {
                "name": _config_name(index, number),
                "enabled": number % 3 != 0,
                "updated": "2024-05-01T12:00:00+00:00",
                "edit_url": f"{prefix}/{number}/",
                "toggle_url": f"{prefix}/{number}/toggle/",
                "delete_url": f"{prefix}/{number}/delete/",
            }
            for number in range(CONFIGS)
        ][: max(0, rows - index * CONFIGS)]
        integrations.append(
            {"name": cls.name, "add_url": f"{prefix}/add/", "configs": configs}
        )
    values = {"integrations": integrations, "token": "x" * 90}
    return lambda: template.render(values)


def _page(
    bench: BenchApp, expected: int
) -> tuple[t.Callable[[], object], t.Callable[[], float]]:
    """A function requesting the page, and one giving the SQL statements
    per request since the previous call."""
    client = bench.app.test_client()
    response = client.get("/integrations/")
    shown = len(set(re.findall(r"g\d{3}-c\d{2}", response.text)))
    if response.status_code != 200 or shown != expected:
        raise BenchmarkError(
            f"The list page answered {response.status_code} with {shown}"
            f" configurations, not {expected}."
        )
    counted = count_statements(bench.engine)
    requests = [0]
    last = [0, 0]

    def request() -> object:
        requests[0] += 1
        return client.get("/integrations/")

    def statements() -> float:
        done = (counted() - last[0]) / max(1, requests[0] - last[1])
        last[:] = [counted(), requests[0]]
        return done

    return request, statements


def _measure(
    bench: BenchApp, shown: int, settings: Settings
) -> tuple[list[float], list[float], list[float]]:
    """Time the page against the floor; count statements per request."""
    request, statements = _page(bench, shown)
    page_sample = sampler(request, settings.sample_seconds, gc_off=False)
    counts: list[float] = []

    def subject() -> float:
        statements()
        value = page_sample()
        counts.append(statements())
        return value

    subjects, baselines = side_by_side(
        subject,
        sampler(_floor(shown), settings.sample_seconds, gc_off=False),
        settings.runs,
    )
    return subjects, baselines, counts[1:]  # not the warm-up round


def run(databases: Databases, settings: Settings) -> list[Row]:
    url = databases.sqlite("list_page")
    total = INTEGRATIONS * CONFIGS
    full = _build(url, page_size=total)
    full.reset_tables()
    default = _build(url, page_size=DEFAULT_PAGE_SIZE)
    rows = []
    try:
        _seed(full)
        for bench, shown, label in (
            (full, total, f"all {total} configurations on the page"),
            (default, DEFAULT_PAGE_SIZE, f"default page size ({DEFAULT_PAGE_SIZE})"),
        ):
            subjects, baselines, counts = _measure(bench, shown, settings)
            is_full = bench is full
            rows.append(
                Row(
                    "4",
                    f"list page, {label}: time",
                    Series("GET /integrations/", "time", subjects),
                    Series(f"plain Jinja template, {shown} rows", "time", baselines),
                    Goal("≤ 15 ms", "subject_max", 0.015, reference="30 ms")
                    if is_full
                    else None,
                    database="SQLite",
                    notes=f"{INTEGRATIONS} integrations × {CONFIGS} configurations.",
                )
            )
            rows.append(
                Row(
                    "4",
                    f"list page, {label}: SQL statements",
                    Series("statements per request", "count", counts),
                    goal=Goal("≤ 3", "subject_max", 3, reference="3")
                    if is_full
                    else None,
                    database="SQLite",
                    notes="Counted per request, the before-request check included.",
                )
            )
    finally:
        default.close()
        full.drop_tables()
        full.close()
    return rows
