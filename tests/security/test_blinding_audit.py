"""Blinding audit: a reader reads a whole study the way the browser does (next -> image -> vote); a classifier trained
on everything the browser sees except pixel values (response sizes, header values, URL tokens, ids, order positions,
timings) must not tell real from generated: its cross-validated ROC AUC is not above chance (the one-sided 99%
bootstrap bound is not above 0.5). A control with one leaky feature shows the same pipeline does detect a leak.
Every image a reader receives also has the same PNG chunk layout and encoder settings."""
from __future__ import annotations

import struct
import time
import zlib

import numpy as np
import pytest
from django.test import Client
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from readerstudy.demo.images import chest_png
from readerstudy.studies import services
from readerstudy.studies.models import Case, Finding, Source
from tests import factories

PER_CELL = 5  # 6 findings x 4 sources x 5 = 120 cases, 30 real
SEED = 20260


def string_features(text: str) -> list[float]:
    return [len(text), sum(c.isdigit() for c in text), sum(c.isupper() for c in text),
            sum(c in "-_" for c in text), (ord(text[0]) if text else 0), (ord(text[-1]) if text else 0)]


def header_features(response) -> list[float]:
    headers = sorted(response.items())
    return [len(headers), sum(len(k) + len(v) for k, v in headers),
            float(zlib.crc32("\n".join(f"{k}:{v}" for k, v in headers if k != "Date").encode()) % 997)]


@pytest.fixture
def read_through(db, study_factory):
    """Build the study, then read it like the browser; returns (features, labels, image bodies, stored sizes)."""
    return _read_whole_study(study_factory("audit", status="open"))


def _read_whole_study(study):
    for finding in Finding.objects.all():
        for source in Source.objects.all():
            for index in range(PER_CELL):
                services.case_create_from_png(study=study, finding=finding, source=source,
                                              png_bytes=chest_png(finding.name, source.slug,
                                                                  SEED + 100 * finding.pk + 10 * source.pk + index))
    factories.create_reader(study, username="auditor", password="auditor-pass-1")
    client = Client()
    assert client.post("/accounts/login/", {"username": "auditor", "password": "auditor-pass-1"}).status_code == 302
    rows, labels, bodies, stored_sizes = [], [], [], []
    while True:
        started = time.perf_counter()
        nxt = client.get("/api/studies/audit/next/", HTTP_ACCEPT="application/json")
        next_s = time.perf_counter() - started
        if nxt.status_code == 204:
            break
        payload = nxt.json()
        started = time.perf_counter()
        image = client.get(payload["image_url"])
        image_s = time.perf_counter() - started
        body = b"".join(image.streaming_content) if image.streaming else image.content
        started = time.perf_counter()
        vote = client.post("/api/studies/audit/votes/", {"case": payload["case"], "answer": "real", "time_ms": 1000},
                           content_type="application/json")
        vote_s = time.perf_counter() - started
        assert vote.status_code == 201
        token = payload["image_url"].rsplit("/", 1)[-1].removesuffix(".png")
        rows.append([
            len(nxt.content), next_s * 1000, *header_features(nxt),
            len(body), image_s * 1000, *header_features(image),
            len(vote.content), vote_s * 1000, *header_features(vote),
            payload["position"], *string_features(token), *string_features(payload["case"]),
            *string_features(payload.get("prefetch_image_url") or ""),
        ])
        case = Case.objects.select_related("source").get(public_id=payload["case"])
        labels.append(int(case.source.is_real))
        bodies.append(body)
        stored_sizes.append(case.image.size)
    return np.asarray(rows, dtype=float), np.asarray(labels), bodies, np.asarray(stored_sizes, dtype=float)


def cross_validated_auc(features: np.ndarray, labels: np.ndarray, model) -> tuple[float, float, float]:
    """Out-of-fold ROC AUC and a 98% bootstrap interval over the cases (2000 resamples): its lower end is a one-sided
    99% bound."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    auc = roc_auc_score(labels, scores)
    rng = np.random.default_rng(0)
    resampled = []
    for _ in range(2000):
        index = rng.integers(0, len(labels), len(labels))
        if labels[index].min() != labels[index].max():
            resampled.append(roc_auc_score(labels[index], scores[index]))
    low, high = np.percentile(resampled, [1, 99])
    return auc, float(low), float(high)


MODELS = {
    "logistic regression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    "random forest": lambda: RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=0),
}


def test_nothing_but_pixels_tells_a_reader_real_from_generated(read_through):
    features, labels, _, _ = read_through
    assert len(labels) == 6 * 4 * PER_CELL and labels.sum() == 6 * PER_CELL
    for name, model in MODELS.items():
        auc, low, high = cross_validated_auc(features, labels, model())
        print(f"\nblinding audit, {name}: AUC {auc:.3f} (98% bootstrap {low:.3f}-{high:.3f}), "
              f"{features.shape[1]} features, {len(labels)} cases")
        # A leak shows as an AUC above chance. Below chance is no leak: cross-validated AUC on features that carry
        # nothing is biased below 0.5 (each fold's model learns the other folds' noise), and the in-process
        # timings are noisy on a shared machine, so the bound is one-sided at 99%.
        assert low <= 0.5, (name, auc, low, high)
    # The control: the same features plus one that carries the truth weakly are caught (the audit can fail).
    rng = np.random.default_rng(1)
    leaky = np.column_stack([features, labels + rng.normal(0, 0.5, len(labels))])
    for model in MODELS.values():
        auc, low, _ = cross_validated_auc(leaky, labels, model())
        assert low > 0.6, auc


def png_layout(data: bytes) -> tuple:
    """Chunk types and lengths, the IHDR fields and the zlib header of the image data (the encoder's settings)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, ihdr, idat = 8, [], None, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        chunk = data[offset + 8:offset + 8 + length]
        chunks.append((kind, length))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        offset += 12 + length
    return tuple(chunks), ihdr, idat[:2]


def test_every_image_shares_byte_length_chunk_layout_and_encoder_settings(read_through):
    """A compressed PNG's size depends on content and may predict the source; images are stored and served
    uncompressed, so every image has one byte length, chunk layout and encoder setting."""
    _, labels, bodies, stored_sizes = read_through
    stored_auc = roc_auc_score(labels, stored_sizes)
    print(f"\nstored PNG size alone: AUC {max(stored_auc, 1 - stored_auc):.3f} (not sent to readers)")
    assert len({len(body) for body in bodies}) == 1
    layouts = {png_layout(body) for body in bodies}
    assert len(layouts) == 1, f"{len(layouts)} distinct layouts"
    by_truth = {label: {png_layout(body) for body, lab in zip(bodies, labels, strict=True) if lab == label}
                for label in (0, 1)}
    assert by_truth[0] == by_truth[1]
    (chunks, ihdr, zlib_header), = layouts
    assert [kind for kind, _ in chunks if kind != b"IDAT"] == [b"IHDR", b"IEND"]
    assert ihdr[:2] == (224, 224)
