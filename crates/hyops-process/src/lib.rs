//! Spawn tool processes in their own group, stream and capture output, stop them on timeout or cancel.
