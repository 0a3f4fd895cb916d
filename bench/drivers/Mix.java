import java.sql.*;

/** Typical JDBC usage against one PostgreSQL: java -cp postgresql.jar:. Mix URL LOOPS */
public class Mix {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    int loops = Integer.parseInt(args[1]);
    String only = args.length > 2 ? args[2] : "all";
    try (Connection c = DriverManager.getConnection(url)) {
      c.setAutoCommit(true);
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS jd_items (id int primary key, v text)");
        s.execute("CREATE TABLE IF NOT EXISTS jd_log (id serial primary key, note text)");
        s.execute("CREATE TABLE IF NOT EXISTS jd_batch (id serial primary key, note text)");
        s.execute("INSERT INTO jd_items SELECT g, md5(g::text) FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING");
      }
      for (int i = 0; i < loops; i++) {
        if (only.equals("all") || only.equals("a")) autocommit(c, i);
        if (only.equals("all") || only.equals("b")) transactions(c, i);
        if (only.equals("all") || only.equals("c")) errors(c, i);
        if (only.equals("all") || only.equals("d")) fetchSize(c);
        if (only.equals("all") || only.equals("e")) batch(c, i);
      }
    }
    System.out.println("Mix done: " + loops + " loops (" + only + ")");
  }

  // (a) autocommit: literal query, a PreparedStatement run > prepareThreshold times, an INSERT.
  static void autocommit(Connection c, int i) throws SQLException {
    c.setAutoCommit(true);
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT count(*) FROM jd_items WHERE id < 100")) {
      while (r.next()) { }
    }
    try (PreparedStatement p = c.prepareStatement("SELECT v FROM jd_items WHERE id = ?")) {
      for (int k = 1; k <= 8; k++) {
        p.setInt(1, k + i);
        try (ResultSet r = p.executeQuery()) { while (r.next()) { } }
      }
    }
    try (PreparedStatement p = c.prepareStatement("INSERT INTO jd_log (note) VALUES (?)")) {
      p.setString(1, "a" + i);
      p.executeUpdate();
    }
  }

  // (b) autocommit=false: selects/updates then commit(); then a rollback() path.
  static void transactions(Connection c, int i) throws SQLException {
    c.setAutoCommit(false);
    try (PreparedStatement sel = c.prepareStatement("SELECT v FROM jd_items WHERE id = ? FOR UPDATE");
         PreparedStatement upd = c.prepareStatement("UPDATE jd_items SET v = ? WHERE id = ?")) {
      sel.setInt(1, 10 + i);
      try (ResultSet r = sel.executeQuery()) { while (r.next()) { } }
      upd.setString(1, "t" + i);
      upd.setInt(2, 10 + i);
      upd.executeUpdate();
      c.commit();
      upd.setString(1, "rb" + i);
      upd.setInt(2, 20 + i);
      upd.executeUpdate();
      sel.setInt(1, 20 + i);
      try (ResultSet r = sel.executeQuery()) { while (r.next()) { } }
      c.rollback();
    }
    c.setAutoCommit(true);
  }

  // (c) an error inside a transaction then rollback; an error in autocommit.
  static void errors(Connection c, int i) throws SQLException {
    c.setAutoCommit(false);
    try (PreparedStatement p = c.prepareStatement("SELECT v FROM jd_items WHERE id = ? / 0")) {
      p.setInt(1, i);
      p.executeQuery();
    } catch (SQLException e) {
      c.rollback();
    }
    c.setAutoCommit(true);
    try (Statement s = c.createStatement()) {
      s.executeQuery("SELECT 1 / 0 AS jd_err");
    } catch (SQLException e) { }
  }

  // (d) setFetchSize(50) on 300 rows inside a transaction: the portal is fetched in several round trips.
  static void fetchSize(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try (PreparedStatement p = c.prepareStatement("SELECT id, v FROM jd_items WHERE id <= ? ORDER BY id")) {
      p.setFetchSize(50);
      p.setInt(1, 300);
      int n = 0;
      try (ResultSet r = p.executeQuery()) { while (r.next()) n++; }
      if (n != 300) throw new IllegalStateException("rows " + n);
    }
    c.commit();
    c.setAutoCommit(true);
  }

  // (e) addBatch/executeBatch of 5 inserts (autocommit on).
  static void batch(Connection c, int i) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO jd_batch (note) VALUES (?)")) {
      for (int k = 0; k < 5; k++) {
        p.setString(1, "b" + i + "." + k);
        p.addBatch();
      }
      p.executeBatch();
    }
  }
}
