"""中文 for the prose sentences of the widgets' readouts (group a); merged into :data:`medlab.i18n.ZH`.

Keys are the English text or format templates (``t("{0} px = {1:.1f} mm").format(...)``, the same placeholders
in both languages). A key already in ``i18n.ZH`` must not be repeated here (checked at import).
"""
from __future__ import annotations

ZH: dict[str, str] = {
}
