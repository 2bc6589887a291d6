from nanoscale.retrievers.lexical import BM25Index, tokenize


def test_tokenize_splits_camel_case_and_drops_stop_words():
    assert tokenize("The nodeSelector of my Pod") == ["node", "selector", "pod"]
    assert tokenize("ecr:GetAuthorizationToken") == ["ecr", "get", "authorization", "token"]


def test_bm25_ranks_exact_terms_first():
    index = BM25Index(["docker build cache", "ImagePullBackOff on the pod", "disk full on node"])
    scores = index.scores("pod stuck in ImagePullBackOff")
    assert scores.argmax() == 1
    assert index.scores("nothing matches zzz").max() == 0
