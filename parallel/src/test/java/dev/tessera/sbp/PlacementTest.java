package dev.tessera.sbp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementTest {

    @Test
    void shouldArrangeDevicesRowMajorOverTheHierarchy() {
        Placement p = Placement.onNode(0, 2, 4);
        assertEquals(DeviceId.of(0, 6), p.device(p.rankAt(1, 2)));
        assertArrayEquals(new int[] {1, 2}, p.coordinates(6));
    }

    @Test
    void shouldGroupDevicesThatDifferOnlyInOneAxis() {
        Placement p = Placement.onNode(0, 2, 4);
        List<int[]> axis0 = p.peerGroups(0);
        assertEquals(4, axis0.size());
        assertArrayEquals(new int[] {1, 5}, axis0.get(1));
        List<int[]> axis1 = p.peerGroups(1);
        assertEquals(2, axis1.size());
        assertArrayEquals(new int[] {4, 5, 6, 7}, axis1.get(1));
    }

    @Test
    void shouldRejectHierarchyThatDoesNotMatchDeviceCount() {
        List<DeviceId> six = Placement.onNode(0, 6).devices();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Placement.of(six, 2, 4));
        assertTrue(e.getMessage().contains("[2, 4] holds 8 devices but the placement lists 6"), e.getMessage());
    }

    @Test
    void shouldRejectDuplicateDevice() {
        List<DeviceId> devices = List.of(DeviceId.of(0, 0), DeviceId.of(0, 1), DeviceId.of(0, 1), DeviceId.of(1, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Placement.of(devices, 4));
        assertTrue(e.getMessage().contains("device 0:1 appears twice"), e.getMessage());
    }

    @Test
    void shouldRejectDeviceMissingFromCluster() {
        Placement p = Placement.of(List.of(DeviceId.of(0, 0), DeviceId.of(0, 1), DeviceId.of(1, 0), DeviceId.of(1, 2)), 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.requireIn(Cluster.uniform(2, 2)));
        assertTrue(e.getMessage().contains("uses device 1:2, which does not exist"), e.getMessage());
        p.requireIn(Cluster.uniform(2, 3));
    }

    @Test
    void shouldParseDeviceIds() {
        assertEquals(DeviceId.of(3, 7), DeviceId.parse("3:7"));
        assertThrows(IllegalArgumentException.class, () -> DeviceId.parse("3-7"));
    }
}
