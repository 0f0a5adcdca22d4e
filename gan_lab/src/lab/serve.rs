//! The engine side: `gan-lab engine` reads commands from stdin and runs one training session.
//!
//! When stdin closes (the notebook kernel was interrupted, restarted or died), the chunk in
//! progress ends after its current step, writes its sample grid and checkpoint, and the engine
//! exits: nothing trained is lost and `Experiment::open(run)` carries on from there.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Instant;

use super::protocol::{BackendStatus, Command, Event};
use crate::error::{Error, Result};
use crate::platform::{cpu_threads, price_from_env, AnySession, BackendKind};
use crate::run::{metrics_line, RunDir};

fn emit(event: &Event) {
    // A client that has gone away cannot be told anything; keep going and finish cleanly.
    let _ = writeln!(std::io::stdout().lock(), "{}", event.to_line());
}

/// Serves commands from stdin until `quit` or end of input.
pub fn serve() -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, commands) = channel::<String>();
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut quit_sent = false;
        for line in std::io::stdin().lock().lines().map_while(|l| l.ok()) {
            quit_sent = matches!(Command::parse(&line), Ok(Command::Quit));
            if tx.send(line).is_err() {
                return;
            }
        }
        // Input ended without `quit`: the client is gone (an interrupted or dead kernel), so the
        // chunk in progress stops early. A script that pipes `… quit` runs every command.
        if !quit_sent {
            flag.store(true, Ordering::Relaxed);
        }
    });
    let mut session: Option<AnySession> = None;
    let mut diverged: Option<String> = None;
    for line in commands {
        if line.trim().is_empty() {
            continue;
        }
        let result = Command::parse(&line).and_then(|cmd| match (cmd, &diverged) {
            (Command::Quit, _) => Ok(None),
            // The weights in memory are not finite: training them further means nothing.
            (Command::Train { .. }, Some(why)) => Err(Error::Engine { message: why.clone() }),
            (cmd, _) => handle(&mut session, cmd, &stop).map(Some),
        });
        if let Err(e @ Error::Diverged { .. }) = &result {
            let run = session.as_ref().and_then(|s| s.run_dir()).map(|r| r.path.display().to_string()).unwrap_or_default();
            diverged = Some(format!("{e}; this engine trains it no further: Experiment::open(\"{run}\", None) restarts from its last checkpoint"));
        }
        match result {
            Ok(Some(event)) => emit(&event),
            Ok(None) => break,
            Err(e) => emit(&Event::Error { message: e.to_string() }),
        }
    }
    emit(&Event::Bye);
    Ok(())
}

fn price(p: Option<f64>) -> Result<Option<f64>> {
    match p {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        Some(v) => Err(Error::Other(format!("price_per_hour must be a number ≥ 0, got {v}"))),
        None => price_from_env(),
    }
}

fn ready(session: &AnySession) -> Result<Event> {
    let run = session.run_dir().ok_or_else(|| Error::Engine { message: "the session has no run directory".into() })?;
    Ok(Event::Ready {
        run: std::fs::canonicalize(&run.path).unwrap_or_else(|_| run.path.clone()),
        step: session.step(),
        backend: session.backend(),
        threads: cpu_threads(),
        version: format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("GAN_LAB_GIT_COMMIT")),
    })
}

fn handle(slot: &mut Option<AnySession>, cmd: Command, stop: &Arc<AtomicBool>) -> Result<Event> {
    match cmd {
        Command::New { config, runs_dir, backend, price_per_hour } => {
            refuse_second(slot)?;
            let s = AnySession::start(*config, backend, price(price_per_hour)?, &runs_dir)?;
            install(slot, s, stop)
        }
        Command::Open { run, backend, price_per_hour } => {
            refuse_second(slot)?;
            let s = AnySession::open(RunDir::open(&run)?, backend, price(price_per_hour)?)?;
            install(slot, s, stop)
        }
        Command::Train { steps, seconds } => {
            let s = slot.as_mut().ok_or_else(|| Error::Engine { message: "no session yet: send 'new' or 'open' first".into() })?;
            let started = Instant::now();
            let report = match (steps, seconds) {
                (Some(n), None) => s.train_steps(n)?,
                (None, Some(t)) => s.train_for(crate::train::time_budget(t, 1.0, "train's seconds")?)?,
                _ => return Err(Error::Other(format!("train needs exactly one of steps or seconds (> 0), got steps {steps:?}, seconds {seconds:?}"))),
            };
            Ok(Event::Chunk {
                from_step: report.from_step,
                to_step: report.to_step,
                train_seconds: report.seconds,
                wall_seconds: started.elapsed().as_secs_f64(),
                images_per_s: report.images_per_s,
                sample: report.sample,
                checkpoint: report.checkpoint,
                interrupted: report.interrupted,
                rows: report.rows.iter().map(metrics_line).collect(),
            })
        }
        Command::Backends => Ok(Event::Backends {
            backends: BackendKind::ALL
                .into_iter()
                .map(|b| {
                    let check = b.check();
                    BackendStatus { backend: b, available: check.is_ok(), reason: check.err().map(|e| e.to_string()) }
                })
                .collect(),
        }),
        Command::Quit => Err(Error::Engine { message: "quit is handled by the loop".into() }),
    }
}

fn refuse_second(slot: &Option<AnySession>) -> Result<()> {
    match slot.as_ref().and_then(|s| s.run_dir()) {
        Some(run) => Err(Error::Engine { message: format!("this engine already trains {}; start another engine for another run", run.path.display()) }),
        None => Ok(()),
    }
}

fn install(slot: &mut Option<AnySession>, mut s: AnySession, stop: &Arc<AtomicBool>) -> Result<Event> {
    s.set_verbose(true);
    s.set_stop_flag(Arc::clone(stop));
    let event = ready(&s)?;
    *slot = Some(s);
    Ok(event)
}
