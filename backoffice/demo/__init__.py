"""Synthetic demo data for the 潮南区老年人意外伤害综合保险 scheme (rules.md §4).

- `backoffice.demo.people`: deterministic residents of 汕头市潮南区 aged 60+ (the roster of the
  government-sponsored group policy) and residents about to turn 60 (monthly auto-enrollment).
- `backoffice.demo.outlets`: the insurer's service outlets (服务网点) in 潮南区.

Everything here is fictional; no real person, ID number or phone number is meant.
"""
