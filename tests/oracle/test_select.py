"""Which oracle a connection gets from its settings, and what status shows of it."""


from omegad.oracle.anthropic import AnthropicOracle
from omegad.oracle.openai import OpenAIOracle
from omegad.oracle.rules import RulesOracle
from omegad.oracle.scripted import ScriptedOracle
from omegad.oracle.select import FailingOracle, oracle_description, oracle_from_env


def test_no_key_and_no_choice_is_the_scripted_oracle_and_says_so():
    assert isinstance(oracle_from_env({}), ScriptedOracle)
    assert "no provider configured" in oracle_description({})


def test_a_key_alone_chooses_its_provider():
    o = oracle_from_env({"OPENAI_API_KEY": "sk-x"})
    assert isinstance(o, OpenAIOracle) and o.config.model == "gpt-4o"
    assert o.config.base_url == "https://api.openai.com/v1"
    a = oracle_from_env({"ANTHROPIC_API_KEY": "k"})
    assert isinstance(a, AnthropicOracle) and a.config.model == "claude-sonnet-4-20250514"


def test_the_reference_settings_are_honoured():
    env = {"OPENAI_API_KEY": "sk-x", "ANTHROPIC_API_KEY": "k"}
    assert isinstance(oracle_from_env({**env, "OMEGA_SCRIPTED_ORACLE": "1"}), ScriptedOracle)
    o = oracle_from_env({**env, "OMEGA_ADAPTER": "anthropic", "OMEGA_MODEL": "claude-x"})
    assert isinstance(o, AnthropicOracle) and o.config.model == "claude-x"


def test_omega_oracle_wins_and_base_urls_name_other_servers(tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text('[{"when": "x", "answer": "y"}]')
    assert isinstance(oracle_from_env({"OMEGA_ORACLE": f"rules:{rules}",
                                       "OPENAI_API_KEY": "sk-x"}), RulesOracle)
    local = oracle_from_env({"OMEGA_ORACLE": "openai",
                             "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"})
    assert isinstance(local, OpenAIOracle) and local.config.api_key == ""
    assert local.config.base_url == "http://127.0.0.1:8080/v1"


def test_unusable_choices_fail_each_call_with_the_reason(tmp_path):
    missing = oracle_from_env({"OMEGA_ORACLE": "anthropic"})
    assert isinstance(missing, FailingOracle)
    assert missing.message == "anthropic: ANTHROPIC_API_KEY is not set"
    assert isinstance(oracle_from_env({"OMEGA_ORACLE": "gpt"}), FailingOracle)
    assert isinstance(oracle_from_env({"OMEGA_ORACLE": f"rules:{tmp_path}/none.json"}),
                      FailingOracle)


def test_the_description_never_shows_a_key():
    text = oracle_description({"OPENAI_API_KEY": "sk-secret-123", "OMEGA_MODEL": "m1"})
    assert text == "openai (m1 at https://api.openai.com/v1)"
    assert "sk-secret" not in repr(oracle_from_env({"OPENAI_API_KEY": "sk-secret-123"}).config)
