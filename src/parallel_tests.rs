//! Unit tests of `parallel`.

#[test]
fn keeps_order_and_counts() {
    let items: Vec<u32> = (0..50).collect();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let out = super::map(&items, 4, |i, x| (i as u32) * 1000 + x, &|_| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    assert_eq!(out, (0..50).map(|x| x * 1001).collect::<Vec<_>>());
    assert_eq!(count.into_inner(), 50);
    assert!(super::map(&Vec::<u8>::new(), 4, |_, x| *x, &|_| {}).is_empty());
}
