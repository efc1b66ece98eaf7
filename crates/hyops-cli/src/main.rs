fn main() {
    println!("hyops");
}
