"""The kernel's process: ipykernel's application, its threads ended in an order that exits."""

from __future__ import annotations

from ipykernel.kernelapp import IPKernelApp


class OmegaKernelApp(IPKernelApp):
    def start(self) -> None:
        """Run until a shutdown_request stops the shell's loop; then end the control thread.

        The control thread, which answered the request, goes on to flush stdout through the
        IOPub thread. At exit, atexit stops the IOPub thread before it closes the application
        (which joins the control thread), so that flush waited 10 s or for ever, and the kernel
        outlived the frontend's wait and was killed."""
        super().start()
        if self.control_thread and self.control_thread.is_alive():
            self.control_thread.stop()
            self.control_thread.join()
