"""Staff on the counter (terminal.staff through ops): sign-in and sign-out from the staff
bar, the view of who is signed in kept current, and a manager's approval: an op that may
need one is remembered, and sent again once the manager's PIN has gone first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from terminal.ui.ops import Op, OpFailure
from terminal.ui.screen import failure_words, tr

if TYPE_CHECKING:
    from terminal.ui.window import MainWindow

# How often the window asks whether the sign-in lapsed (the shop's idle time, in the core).
STAFF_CHECK_MS = 30_000


class StaffFlow(QObject):
    def __init__(self, frame: MainWindow) -> None:
        super().__init__(frame)
        self.frame = frame
        self.bar = frame.staff_bar
        self._retry: Callable[[], object] | None = None  # the op a manager's PIN would approve
        self._approval_error = ""
        self.bar.sign_in.connect(
            lambda who, pin: self._op(lambda s: s.sign_in(who, pin), tr("the sign-in")))
        self.bar.sign_out.connect(lambda: self._op(lambda s: s.sign_out(), tr("the sign-out")))
        self.bar.approve.connect(self._approve)
        self.check = QTimer(self)  # a lapsed sign-in shown without waiting for a sale
        self.check.setInterval(STAFF_CHECK_MS)
        self.check.timeout.connect(self._check)
        self.check.start()

    def _op(self, work: Callable[[Any], Any], label: str) -> None:
        Op(self.frame, work, success=self.view_shown, failure=self.frame.admin.staff_failed,
           label=label).run()

    def _check(self) -> None:
        if self.frame.info and not self.frame.runner.busy():
            Op(self.frame, lambda s: s.staff_view(), success=self.view_shown,
               failure=lambda _: None, label=tr("the sign-in")).run()

    def approvable(self, run: Callable[[], object]) -> None:
        """Run an op a manager's PIN may have to approve; remembered to run again then."""
        self._retry = run
        run()

    def approval_done(self) -> None:
        """Another transaction was made: an approval asked before is not wanted."""
        if self.bar.mode == "approve":
            self.bar.show_view({"staff": self.bar.staff, "signed_in": self.bar.signed_in,
                                "enforcing": True})
            self._retry = None

    def _approve(self, staff_id: str, pin: str) -> None:
        """The manager's PIN, then the op that waited for it, in that order (both on the
        one worker thread)."""
        def refused(failure: OpFailure) -> None:
            self._approval_error = failure_words(failure)  # said when the op asks again

        Op(self.frame, lambda s: s.counter.staff.approve(staff_id, pin).public(),
           failure=refused, label=tr("the approval")).run()
        self.bar.show_view({"staff": self.bar.staff, "signed_in": self.bar.signed_in,
                            "enforcing": True})
        if self._retry is not None:
            self._retry()

    def view_shown(self, view: dict) -> None:
        bar = self.bar
        if bar.mode == "approve" and view.get("signed_in") == bar.signed_in:
            bar.staff = view.get("staff") or []  # a check: the PIN asked stays asked
        else:
            bar.show_view(view)
        self.frame.training_banner.setVisible(bool(view.get("training")))
        admin = self.frame.admin
        admin.staff_admin.training_button.setChecked(bool(view.get("training")))
        admin.staff_admin.first_setup(not view.get("enforcing"))
        if admin.is_open():
            admin.staff_admin.info.setText("\n".join(
                f"{m['name']} ({tr(m['role'])})" for m in view.get("staff", [])))

    def refused(self, code: str, message: str, details: dict) -> None:
        """Refusals the staff bar answers too: a manager's approval, a sign-in."""
        if code == "approval_needed":
            self.bar.ask_approval(details.get("why", ""), details.get("amount", 0),
                                  details.get("action") == "grant")
            error, self._approval_error = self._approval_error, ""
            if error:
                self.bar.message.setText("✘ " + error + "  " + self.bar.message.text())
        elif code == "not_signed_in":
            self.bar.ask_sign_in(message)

    def stop(self) -> None:
        self.check.stop()
