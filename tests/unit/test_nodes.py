"""Every node alone, with LangChain's fake chat model and a fake retriever."""

from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.retrievers import BaseRetriever

from nanoscale.config import GraphSettings, Settings
from nanoscale.nodes.clarify import parse_reply, reply_text
from nanoscale.nodes.generate import cited_numbers, generate
from nanoscale.nodes.retrieve import merge_sections, retrieve, search_query
from nanoscale.nodes.signals import begin, route_after_signals, signals
from nanoscale.nodes.verify import verify
from nanoscale.prompts import build_messages, clarification_question
from tests.conftest import fake_vector

ECR_TEXT = "Attach AmazonEC2ContainerRegistryReadOnly to the instance role to allow ecr:BatchGetImage."


class ListRetriever(BaseRetriever):
    docs: list[Document]

    def _get_relevant_documents(self, query, *, run_manager):
        return self.docs


def _doc(text, source="aws_ecr.md", section="Pull", line=1):
    meta = {
        "source": source,
        "section": section,
        "title": "ECR",
        "kb": "default",
        "score": 0.8,
        "line_start": line,
        "line_end": line,
    }
    return Document(page_content=text, metadata=meta)


def test_begin_resets_the_clarification_round():
    update = begin({"question": "q", "asked": ["region"], "turns": 3})
    assert update["asked"] == [] and update["turns"] == 0 and "slots" not in update


def test_signals_asks_once_and_respects_turn_limit():
    settings = GraphSettings()
    first = signals({"question": "EC2 cannot pull image from ECR"}, settings=settings)
    assert first["pending"] == ["region"] and route_after_signals(first) == "clarify"
    again = signals({"question": "EC2 cannot pull image from ECR", "asked": ["region"]}, settings=settings)
    assert again["pending"] == [] and again["missing"] == ["region"]
    assert route_after_signals(again) == "retrieve"
    limited = signals({"question": "EC2 cannot pull image from ECR", "turns": 3}, settings=settings)
    assert limited["pending"] == []


def test_signals_keeps_given_slots_and_extracts_new_ones():
    update = signals(
        {"question": "Lambda in eu-west-1 times out", "slots": {"service": "lambda"}},
        settings=GraphSettings(),
    )
    assert update["slots"] == {"region": "eu-west-1", "service": "lambda"}
    assert update["pending"] == []


def test_parse_reply():
    assert parse_reply("we are in Frankfurt", ["region"]) == {"region": "eu-central-1"}
    assert parse_reply("I don't know", ["region", "logs"]) == {}
    assert parse_reply("Error: back-off restarting failed container", ["logs"])["logs"].startswith("Error")
    assert parse_reply("post", ["method"]) == {"method": "POST"}
    assert parse_reply("https://api.x.io/v1, GET, bearer", ["endpoint", "method", "auth"]) == {
        "endpoint": "https://api.x.io/v1",
        "method": "GET",
        "auth": "bearer",
    }
    assert parse_reply("ECR", ["service"]) == {"service": "ecr"}
    assert parse_reply("banana", ["region"]) == {}
    assert reply_text({"reply": "eu-west-1"}) == "eu-west-1"


def test_clarification_question_is_one_sentence_naming_each_slot():
    question = clarification_question(["region", "logs"])
    assert question.count(".") >= 1 and "region" in question and "log" in question
    assert question.endswith(".")


def test_retrieve_builds_query_and_merges_same_section(settings):
    retriever = ListRetriever(
        docs=[_doc("part two", line=9), _doc("other", section="Push"), _doc("part one")]
    )
    update = retrieve({"question": "ecr pull", "slots": {}}, {}, retriever=retriever)
    assert [d["section"] for d in update["documents"]] == ["Pull", "Push"]
    assert update["documents"][0]["text"] == "part one\npart two"
    assert retrieve({"question": "x"}, {}, retriever=None) == {"documents": []}
    query = search_query("pod crashes", {"logs": "Authorization: Bearer abcdefghijkl\nERROR boom"})
    assert "abcdefghijkl" not in query and "ERROR boom" in query
    assert merge_sections([]) == []


def test_generate_cites_sources_and_notes_missing_slots():
    settings = Settings()
    model = FakeListChatModel(responses=["Attach the read-only ECR policy [1]."])
    state = {
        "question": "EC2 cannot pull image from ECR",
        "slots": {},
        "missing": ["region"],
        "documents": [
            {"source": "aws_ecr.md", "section": "Pull", "kb": "default", "score": 0.9, "text": ECR_TEXT}
        ],
    }
    update = generate(state, {}, chat_model=model, count_tokens=lambda t: len(t) // 4, settings=settings)
    assert update["answer"].startswith("Attach the read-only ECR policy [1].")
    assert "Still missing: the AWS region" in update["answer"]
    assert update["sources"][0]["cited"] is True
    # the model's own words are counted (not the note appended after them), and a revision adds on
    assert update["generated_tokens"] == len("Attach the read-only ECR policy [1].") // 4
    again = generate({**state, **update}, {}, chat_model=model, count_tokens=lambda t: len(t) // 4, settings=settings)
    assert again["generated_tokens"] == 2 * update["generated_tokens"]
    assert cited_numbers("see [1], [2, 3] and [tool:sts]") == {1, 2, 3}


def test_prompt_budget_drops_lowest_ranked_blocks_first():
    documents = [{"source": f"d{i}.md", "section": "s", "text": "word " * 200} for i in range(5)]
    messages, used = build_messages(
        "q?",
        {"region": "eu-west-1"},
        ["logs"],
        documents,
        [],
        count=lambda t: len(t.split()),
        context_budget=450,
        window=2000,
    )
    assert [d["source"] for d in used] == ["d0.md", "d1.md"]
    body = messages[1].content
    assert "[1] (d0.md > s)" in body and "d2.md" not in body
    assert "region: eu-west-1" in body and "the error message or logs" in body
    _, cut = build_messages(
        "q?", {}, [], documents[:1], [], count=lambda t: len(t.split()), context_budget=100, window=2000
    )
    assert len(cut) == 1


def test_prompt_redacts_secrets():
    messages, _ = build_messages(
        "why does AKIAIOSFODNN7EXAMPLE fail",
        {"logs": "password=hunter22 failed"},
        [],
        [{"source": "a.md", "section": "s", "text": "token: ghp_" + "a" * 36}],
        [],
        count=len,
        context_budget=5000,
        window=20000,
    )
    body = messages[1].content
    assert "AKIAIOSFODNN7EXAMPLE" not in body and "hunter22" not in body and "ghp_aaa" not in body


def test_verify_flags_unsupported_sentences_and_invented_actions(settings):
    state = {
        "question": "EC2 cannot pull image from ECR",
        "answer": (
            "Attach AmazonEC2ContainerRegistryReadOnly to the instance role [1]. "
            "The moon controls Kubernetes scheduling decisions every night. "
            "Also allow ecr:PullImagesFaster and run aws ecr describe-repositories."
        ),
        "documents": [{"text": ECR_TEXT, "source": "aws_ecr.md"}],
        "revisions": 1,  # the one regeneration is spent: what is still wrong gets marked
    }
    embed = lambda texts: [fake_vector(t) for t in texts]  # noqa: E731
    update = verify(state, embed=embed, settings=GraphSettings(), cache_dir=settings.cache_dir)
    assert "~~ecr:PullImagesFaster~~ (not a real AWS name" in update["answer"]
    assert update["supported_sentences"] == [
        "Attach AmazonEC2ContainerRegistryReadOnly to the instance role [1]."
    ]
    assert "The moon controls Kubernetes scheduling decisions every night." in update["unsupported_sentences"]
    assert update["invalid_aws_actions"] == ["ecr:PullImagesFaster"]


def test_verify_without_evidence_supports_nothing(settings):
    state = {"question": "q", "answer": "A long invented sentence about networking here.", "documents": []}
    update = verify(state, embed=None, settings=GraphSettings(), cache_dir=None)
    assert update["unsupported_sentences"] == ["A long invented sentence about networking here."]


def test_verify_judges_the_model_s_sentences_not_the_check_code_added():
    added = "To confirm before changing anything, a general first check (not from the sources): `df -h`."
    state = {
        "question": "q",
        "answer": f"A long invented sentence about networking here.\n\n{added}",
        "documents": [],
        "added_check": added,
    }
    update = verify(state, embed=None, settings=GraphSettings(), cache_dir=None)
    assert update["unsupported_sentences"] == ["A long invented sentence about networking here."]
    assert update["answer"].endswith(added)


def test_the_logs_question_names_the_users_own_tool():
    from nanoscale.prompts import clarification_question

    assert "kubectl describe" in clarification_question(["logs"], "what is wrong with deployment checkout?")
    assert "journalctl -u" in clarification_question(["logs"], "the nginx systemd service will not start")
    assert "CI run" in clarification_question(["logs"], "why did the release pipeline fail?")
    assert clarification_question(["logs"], "the thing broke") == (
        "To narrow this down, please tell me the exact error message or the last log lines."
    )
    assert clarification_question(["region", "logs"], "lambda broke").endswith(
        "(for example eu-west-1) and the exact error message with its error code, from the CLI, the console "
        "or CloudWatch Logs."
    )


def test_generate_adds_a_read_only_check_from_the_context_unless_switched_off():
    model = FakeListChatModel(responses=["The role lacks ecr:BatchGetImage [1]."])
    text = ECR_TEXT + "\n\n```\naws iam list-attached-role-policies --role-name ROLE\n```"
    state = {
        "question": "EC2 cannot pull image from ECR",
        "slots": {"region": "eu-west-1"},
        "missing": [],
        "documents": [{"source": "aws_ecr.md", "section": "Pull", "kb": "default", "score": 0.9, "text": text}],
    }
    update = generate(state, {}, chat_model=model, count_tokens=lambda t: len(t) // 4, settings=Settings())
    assert update["answer"].endswith("`aws iam list-attached-role-policies --role-name ROLE` [1]")
    off = Settings(graph=GraphSettings(confirm_check=False))
    update = generate(state, {}, chat_model=model, count_tokens=lambda t: len(t) // 4, settings=off)
    assert update["answer"] == "The role lacks ecr:BatchGetImage [1]."
