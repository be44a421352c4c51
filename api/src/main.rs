fn main() {
    println!("ptl");
}
