//! The small demo end to end through the real service (an `urne serve` on a
//! loopback port, every role over HTTP), then the standalone verifier on the
//! export it wrote: the verdict, the tallies and the seat table.

use std::fs::File;

use urne_server::demo::{run_demo, DemoArgs, Preset};

#[test]
fn small_demo_verifies_and_seats_a_parity_assembly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = DemoArgs {
        preset: Preset::Small,
        seed: 11,
        dir: Some(dir.path().to_path_buf()),
        concurrency: 16,
        serve: false,
        listen: ([127, 0, 0, 1], 0).into(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let demo = runtime.block_on(run_demo(&args, false)).expect("demo runs");
    assert!(demo.passed(), "{}", demo.render());
    assert!(demo.refusals.len() >= 6 && demo.refusals.iter().all(|r| r.refused));

    // Verify the export again, independently of the demo.
    let export = File::open(dir.path().join("export")).expect("export written");
    let options = urne_verify::Options {
        progress: false,
        require_witnesses: true,
        ..Default::default()
    };
    let report = urne_verify::verify_export(export, &options);
    assert!(report.valid && report.complete, "{:?}", report.failures);
    // Both loopback witnesses cosigned the final checkpoint (quorum 2).
    let checkpoints = report
        .checks
        .iter()
        .find(|c| c.name == "checkpoints")
        .expect("checkpoints check");
    assert!(
        checkpoints
            .detail
            .contains("witness-1.demo, witness-2.demo (quorum 2 of 2: met)"),
        "{}",
        checkpoints.detail
    );
    assert_eq!(report.failed_checks(), Vec::<&str>::new());
    assert_eq!(report.ballots_counted, 300);

    // The seat table: every seat filled, a quarter by lot, quotas respected.
    for c in &report.constituencies {
        let elected = c.elected.as_ref().expect("elected");
        let drawn = c.drawn.as_ref().expect("drawn");
        assert_eq!((elected.len() + drawn.len()) as u32, c.seats, "{}", c.id);
        assert_eq!(
            drawn.len() as u32,
            c.seats / 4,
            "{}: a quarter by lot",
            c.id
        );
        let tally = c.tally.as_ref().expect("tally");
        assert!(!tally.is_empty());
        let women = elected.iter().filter(|m| m.category == "f").count()
            + drawn.iter().filter(|m| m.category == "f").count();
        let men = elected.len() + drawn.len() - women;
        assert!(
            women.abs_diff(men) <= 1,
            "{}: parity ({women} f, {men} m)",
            c.id
        );
        // Each elected seat carries its candidate's verified vote count, in rank order.
        for e in elected {
            let votes = tally
                .iter()
                .find(|v| v.candidate == e.id)
                .expect("in tally")
                .votes;
            assert_eq!(votes, e.votes, "{}", e.id);
        }
        assert!(elected.windows(2).all(|w| w[0].rank < w[1].rank));
    }
}
