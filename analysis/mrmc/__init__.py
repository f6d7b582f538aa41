"""Multi-reader multi-case (MRMC) analysis: pure numpy/scipy, no Django.

* ``imrmc``: read and check an iMRMC file (``read_imrmc``, ``parse_imrmc`` -> ``MrmcData``; ``ImrmcError``).
* ``fom``: figures of merit per reader x modality on (R, M, K) score arrays (nan = not scored): ``auc``, ``rate``,
  their leave-one-case-out values (``auc_jackknife``, ``rate_jackknife``), ``jackknife_covariance`` and
  ``delong_covariance`` -> (R, M, R, M), or ``jackknife_summary`` -> ``CovarianceSummary`` (what the OR analysis
  uses, computed over the cases each pair of modalities shares: O(R M^2 K)).
* ``or_analysis``: ``or_analysis(fom, covariance, ...)`` -> ``OrResult`` (variance components; RRRC, FRRC, RRFC with
  the global test, every pairwise difference, each modality's reader-averaged figure, FRRC per-reader differences).
* ``analyse``: ``analyse_imrmc(data, covariance="jackknife"|"delong", alpha)`` for the ``mrmc`` command.
* ``study``: ``study_mrmc(...)`` / ``study_mrmc_from_votes(votes, layout)`` -> ``StudyMrmc``: a reader study's split
  design (generators as modalities; AUC and called-real rate).
* ``power``: Hillis-Obuchowski-Berbaum (2011) power and sample size from OR variance components.
* ``simulate``: a seeded simulator of studies in the split design (crossed reader and case effects, response bias);
  ``validation``: null studies, the RRRC comparison against the naive pooled tests (``bench/bench_mrmc.py``).
"""
